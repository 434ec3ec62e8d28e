import { inspect } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SessionValidationError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { descriptor } from '../src/descriptor.js';
import { DynamoDBSession, DynamoDBSessionStore } from '../src/index.js';

// No request is sent in this file: constructors and store.session(id) do no I/O.
const client = new DynamoDBClient({ region: 'us-east-1' });

function refused(build: () => unknown): SessionValidationError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionValidationError);
    return error as SessionValidationError;
  }
  throw new Error('accepted');
}

describe('the options guard', () => {
  it('null or a non-object is a SessionValidationError, not a TypeError', () => {
    for (const bad of [null, 'dynamodb://x/t', 42, [], true]) {
      refused(() => new DynamoDBSessionStore(bad as never));
      refused(() => new DynamoDBSession(bad as never));
    }
    expect(new DynamoDBSessionStore().tableName).toBe('agent_sessions');
  });

  it('a typo is refused by name, with a suggestion and the known options', () => {
    const error = refused(() => new DynamoDBSessionStore({ client, tllSeconds: 60 } as never));
    expect(error.message).toContain('"tllSeconds"');
    expect(error.message).toContain('did you mean "ttlSeconds"');
    for (const key of ['ttlSeconds', 'url', 'client', 'clientConfig', 'tableName', 'createTable']) {
      expect(error.message).toContain(key);
    }
    expect(refused(() => new DynamoDBSessionStore({ client, tablename: 't_1' } as never)).message).toContain(
      'did you mean "tableName"',
    );
    expect(refused(() => new DynamoDBSessionStore({ region: 'us-east-1' } as never)).message).toContain('"region"');
    const session = refused(() => new DynamoDBSession({ sessionId: 's', client, createTabel: false } as never));
    expect(session.message).toContain('did you mean "createTable"');
  });

  it('checks the values too: url, createTable, ttlSeconds', () => {
    refused(() => new DynamoDBSessionStore({ url: 42 as never }));
    refused(() => new DynamoDBSessionStore({ client, createTable: 'no' as never }));
    refused(() => new DynamoDBSessionStore({ url: 'dynamodb://h:1/t_1?ttlSeconds=-5' }));
    refused(() => new DynamoDBSession({ sessionId: 's', client, createTable: 0 as never }));
  });
});

describe('url', () => {
  it('builds an owned client from the URL (no I/O): endpoint, region, credentials, table, TTL', async () => {
    const store = new DynamoDBSessionStore({
      url: 'dynamodb://AKID:se+cret@127.0.0.1:8000/my_table?region=eu-west-1&createTable=false&ttlSeconds=60',
    });
    expect(store.tableName).toBe('my_table');
    expect(store.ttlSeconds).toBe(60);
    expect(store.session('s').ttlSeconds).toBe(60);
    expect(store.client).toBeInstanceOf(DynamoDBClient);
    expect(await store.client.config.region()).toBe('eu-west-1');
    expect(await store.client.config.credentials()).toMatchObject({ accessKeyId: 'AKID', secretAccessKey: 'se+cret' });
    const endpoint = await store.client.config.endpoint?.();
    expect(endpoint).toMatchObject({ hostname: '127.0.0.1', port: 8000, protocol: 'http:' });
    let destroyed = 0;
    const destroy = store.client.destroy.bind(store.client);
    store.client.destroy = () => {
      destroyed++;
      destroy();
    };
    await store.close();
    await store.close();
    expect(destroyed).toBe(1);
  });

  it('options beside the URL win over its parameters', () => {
    const store = new DynamoDBSessionStore({
      url: 'dynamodb://127.0.0.1:8000/from_url?region=us-east-1&ttlSeconds=60&createTable=false',
      tableName: 'from_options',
      ttlSeconds: 5,
      createTable: true,
    });
    expect(store.tableName).toBe('from_options');
    expect(store.ttlSeconds).toBe(5);
    expect(store.toJSON()).toMatchObject({ createTable: true });
  });

  it("the descriptor's options build the same store (what the CLI will do)", () => {
    const store = new DynamoDBSessionStore(
      descriptor.optionsFromUrl('dynamodb://127.0.0.1:8000/t_cli?region=us-east-1&createTable=false&ttlSeconds=30'),
    );
    expect(store.toJSON()).toMatchObject({ tableName: 't_cli', createTable: false, ownsClient: true, ttlSeconds: 30 });
  });

  it('url together with client or clientConfig is refused', () => {
    const url = 'dynamodb://127.0.0.1:8000/t_1?region=us-east-1';
    expect(refused(() => new DynamoDBSessionStore({ url, client })).message).toMatch(
      /one of url, client or clientConfig/,
    );
    refused(() => new DynamoDBSessionStore({ url, clientConfig: { region: 'us-east-1' } }));
    refused(() => new DynamoDBSessionStore({ client, clientConfig: {} }));
  });

  it('a store that never built its client has nothing to close', async () => {
    const store = new DynamoDBSessionStore({ url: 'dynamodb://127.0.0.1:8000/t_1?region=us-east-1' });
    await store.close();
    expect(store.closed).toBe(true);
  });
});

describe('what a store shows', () => {
  it('public facts only: table, createTable, the masked URL, ownership, TTL', () => {
    const fromUrl = new DynamoDBSessionStore({ url: 'dynamodb://AKID:topsecret1@127.0.0.1:8000/t_1?region=us-east-1' });
    expect(fromUrl.toJSON()).toEqual({
      tableName: 't_1',
      createIfMissing: true,
      createTable: true,
      url: 'dynamodb://***@127.0.0.1:8000/t_1?region=us-east-1',
      ownsClient: true,
      ttlSeconds: undefined,
      timeoutMs: 10_000,
      closed: false,
    });
    expect(inspect(fromUrl)).toMatch(/^DynamoDBSessionStore \{/);
    expect(inspect(fromUrl)).not.toContain('topsecret1');
    const borrowed = new DynamoDBSessionStore({ client, tableName: 't_2', createTable: false, ttlSeconds: 9 });
    expect(JSON.parse(JSON.stringify(borrowed))).toEqual({
      tableName: 't_2',
      createIfMissing: false,
      createTable: false,
      ownsClient: false,
      ttlSeconds: 9,
      timeoutMs: 10_000,
      closed: false,
    });
    const configured = new DynamoDBSessionStore({
      clientConfig: { region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'cfgsecret42' } },
    });
    expect(inspect(configured, { depth: 10, showHidden: true })).not.toContain('cfgsecret42');
    expect(inspect(configured.session('s'))).toBe(
      "DynamoDBSession { sessionId: 's', ttlSeconds: undefined, timeoutMs: 10000 }",
    );
  });
});

describe('createIfMissing, and createTable its alias', () => {
  it('createTable: false is createIfMissing: false; both given and different is refused', () => {
    expect(new DynamoDBSessionStore({ client }).createIfMissing).toBe(true);
    expect(new DynamoDBSessionStore({ client, createIfMissing: false }).createIfMissing).toBe(false);
    expect(new DynamoDBSessionStore({ client, createTable: false }).createIfMissing).toBe(false);
    expect(new DynamoDBSessionStore({ client, createTable: false, createIfMissing: false }).createIfMissing).toBe(
      false,
    );
    expect(new DynamoDBSessionStore({ client, createTable: true, createIfMissing: true }).createIfMissing).toBe(true);
    for (const [createTable, createIfMissing] of [
      [true, false],
      [false, true],
    ]) {
      const error = refused(() => new DynamoDBSessionStore({ client, createTable, createIfMissing }));
      expect(error.message).toContain('alias');
      refused(() => new DynamoDBSession({ sessionId: 's', client, createTable, createIfMissing }));
    }
    refused(() => new DynamoDBSessionStore({ client, createIfMissing: 'no' as never }));
    refused(() => new DynamoDBSession({ sessionId: 's', client, createIfMissing: 0 as never }));
  });

  it("the URL's createTable=false keeps working; an option beside it wins", () => {
    const url = 'dynamodb://127.0.0.1:8000/t_1?region=us-east-1&createTable=false';
    expect(new DynamoDBSessionStore({ url }).createIfMissing).toBe(false);
    expect(new DynamoDBSessionStore({ url, createIfMissing: true }).createIfMissing).toBe(true);
    expect(new DynamoDBSessionStore({ url, createTable: true }).createIfMissing).toBe(true);
    expect(new DynamoDBSessionStore({ url: 'dynamodb://h:1/t_1', createIfMissing: false }).createIfMissing).toBe(false);
  });
});

describe('timeoutMs', () => {
  it('a client the store creates gets connection and request timeouts of timeoutMs; yours are kept', async () => {
    const handlerConfig = async (store: DynamoDBSessionStore) =>
      (store.client.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> })
        .configProvider;
    const own = new DynamoDBSessionStore({ clientConfig: { region: 'us-east-1' }, timeoutMs: 1_500 });
    expect(await handlerConfig(own)).toMatchObject({
      connectionTimeout: 1_500,
      requestTimeout: 1_500,
      throwOnRequestTimeout: true,
    });
    const fromUrl = new DynamoDBSessionStore({ url: 'dynamodb://127.0.0.1:8000/t_1?region=us-east-1' });
    expect(await handlerConfig(fromUrl)).toMatchObject({ connectionTimeout: 10_000, requestTimeout: 10_000 });
    const tuned = new DynamoDBSessionStore({
      clientConfig: { region: 'us-east-1', requestHandler: { requestTimeout: 777 } },
      timeoutMs: 2_000,
    });
    expect(await handlerConfig(tuned)).toMatchObject({ connectionTimeout: 2_000, requestTimeout: 777 });
    // A client passed in is not reconfigured.
    const borrowed = new DynamoDBSessionStore({ client, timeoutMs: 1_000 });
    expect(borrowed.client).toBe(client);
    expect(borrowed.session('s').timeoutMs).toBe(1_000);
    expect(own.session('s').timeoutMs).toBe(1_500);
    await Promise.all([own.close(), fromUrl.close(), tuned.close()]);
  });

  it('is validated like every store option', () => {
    refused(() => new DynamoDBSessionStore({ client, timeoutMs: -1 }));
    refused(() => new DynamoDBSession({ sessionId: 's', client, timeoutMs: 'soon' as never }));
  });
});
