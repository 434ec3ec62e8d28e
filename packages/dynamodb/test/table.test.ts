import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { SessionStorageError, SessionValidationError } from '@sessions/core';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDBSession, DynamoDBSessionStore } from '../src/index.js';
import { clientConfig, dropTable, message, rawClient, uniqueTable } from './helpers.js';

const raw = rawClient();
const created: string[] = [];
function table(label: string): string {
  const name = uniqueTable(label);
  created.push(name);
  return name;
}

afterAll(async () => {
  await Promise.all(created.map((name) => dropTable(raw, name)));
  raw.destroy();
});

async function describeTable(name: string) {
  const { Table } = await raw.send(new DescribeTableCommand({ TableName: name }));
  const { TimeToLiveDescription } = await raw.send(new DescribeTimeToLiveCommand({ TableName: name }));
  return { Table, ttl: TimeToLiveDescription };
}

describe('ensureTable', () => {
  it('creates the table with string keys pk/sk, on-demand billing and TTL on expiresAt; idempotent', async () => {
    const tableName = table('ensure');
    const store = new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName });
    await store.ensureTable();
    await store.ensureTable();
    const { Table, ttl } = await describeTable(tableName);
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(
      Object.fromEntries((Table?.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType])),
    ).toEqual({ pk: 'S', sk: 'S', catalogShard: 'S', catalogKey: 'S' });
    // The sparse catalog index (README "Table definition").
    expect(
      Table?.GlobalSecondaryIndexes?.map(({ IndexName, KeySchema, Projection, IndexStatus }) => ({
        IndexName,
        KeySchema,
        Projection: { ...Projection, NonKeyAttributes: [...(Projection?.NonKeyAttributes ?? [])].sort() },
        IndexStatus,
      })),
    ).toEqual([
      {
        IndexName: 'catalog',
        KeySchema: [
          { AttributeName: 'catalogShard', KeyType: 'HASH' },
          { AttributeName: 'catalogKey', KeyType: 'RANGE' },
        ],
        Projection: {
          ProjectionType: 'INCLUDE',
          NonKeyAttributes: ['createdAt', 'expiresAtMs', 'itemCount', 'labels', 'updatedAt'],
        },
        IndexStatus: 'ACTIVE',
      },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(ttl).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
    // A second store (another client, so no memo) finds everything in place.
    const again = new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName });
    await again.ensureTable();
    await Promise.all([store.close(), again.close()]);
  });

  it('is safe when several processes race to create the same table', async () => {
    const tableName = table('race');
    const stores = Array.from(
      { length: 6 },
      () => new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName }),
    );
    await Promise.all(stores.map((store) => store.ensureTable()));
    const { Table, ttl } = await describeTable(tableName);
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(ttl?.TimeToLiveStatus).toBe('ENABLED');
    await stores[0]!.session('s').addItems([message('after the race')]);
    expect(await stores[5]!.session('s').getItems()).toEqual([message('after the race')]);
    await Promise.all(stores.map((store) => store.close()));
  });

  it('refuses a table that exists with another key schema', async () => {
    const tableName = table('wrongkeys');
    await raw.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    await waitUntilTableExists({ client: raw, maxWaitTime: 60 }, { TableName: tableName });
    const store = new DynamoDBSessionStore({ client: raw, tableName });
    const error = await store.ensureTable().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect((error as Error).message).toMatch(/another key schema/);
  });
});

describe('setup', () => {
  it('setup() creates the table; ensureTable() stays its alias, on the store and on a session', async () => {
    const tableName = table('setup');
    const store = new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName, createTable: false });
    await store.setup();
    const { Table, ttl } = await describeTable(tableName);
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(ttl).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
    await store.ensureTable();
    await store.setup();
    const client = rawClient();
    const session = new DynamoDBSession({ sessionId: 's', client, tableName, createTable: false });
    await session.setup();
    await session.ensureTable();
    await store.session('s').addItems([message('after setup')]);
    expect(await session.getItems()).toEqual([message('after setup')]);
    client.destroy();
    await store.close();
  });
});

describe('lazy table creation', () => {
  it('creates a missing table on first use, also for a standalone session', async () => {
    const tableName = table('lazy');
    const session = new DynamoDBSession({ sessionId: 'first', client: raw, tableName });
    expect(await session.getItems()).toEqual([]);
    await session.addItems([message('hello')]);
    expect(await session.getItems()).toEqual([message('hello')]);
    const { Table, ttl } = await describeTable(tableName);
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(ttl?.TimeToLiveStatus).toBe('ENABLED');
  });

  it('with createTable: false, a missing table is an error naming it, and nothing is created', async () => {
    const tableName = table('nocreate');
    const store = new DynamoDBSessionStore({ client: raw, tableName, createTable: false });
    const error = await store
      .session('s')
      .addItems([message('x')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect((error as Error).message).toContain(tableName);
    expect((error as SessionStorageError).cause).toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(raw.send(new DescribeTableCommand({ TableName: tableName }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describe('createIfMissing: false', () => {
  const missing = () => expect.objectContaining({ name: 'ResourceNotFoundException' });
  const tableIsMissing = (name: string) =>
    expect(raw.send(new DescribeTableCommand({ TableName: name }))).rejects.toEqual(missing());

  it('reads of a missing table are empty and create nothing; writes fail naming the table', async () => {
    const tableName = table('readonly');
    const endpointUrl = new URL(String(clientConfig().endpoint));
    const stores = [
      new DynamoDBSessionStore({ client: raw, tableName, createIfMissing: false }),
      new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName, createTable: false }),
      new DynamoDBSessionStore({
        url: `dynamodb://a:b@${endpointUrl.host}/${tableName}?region=us-east-1&createTable=false`,
      }),
    ];
    const sessions = [
      ...stores.map((store) => store.session('fresh')),
      new DynamoDBSession({ sessionId: 'fresh', client: raw, tableName, createIfMissing: false }),
    ];
    for (const session of sessions) {
      expect(await session.getItems()).toEqual([]);
      expect(await session.getItems(3)).toEqual([]);
      expect(await session.popItem()).toBeUndefined();
      await session.applyHistoryMutations({
        mutations: [{ type: 'replace_function_call', callId: 'c1', replacement: {} as never }],
      });
    }
    await tableIsMissing(tableName);
    const session = sessions[0] as DynamoDBSession;
    const writes: [string, () => Promise<unknown>][] = [
      ['addItems', () => session.addItems([message('x')])],
      ['clearSession', () => session.clearSession()],
      ['replaceHistoryWithCompaction', () => session.replaceHistoryWithCompaction([message('y')])],
      [
        'applyHistoryTransaction',
        () =>
          session.applyHistoryTransaction({
            operationId: 'op-1',
            transaction: { type: 'append_items', items: [message('z')] },
          }),
      ],
    ];
    for (const [operation, write] of writes) {
      const error = await write().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionStorageError);
      expect(error).toMatchObject({ operation, code: 'STORAGE' });
      expect((error as Error).message).toContain(
        `table ${tableName} does not exist (createIfMissing is false: create it, or call setup())`,
      );
    }
    await tableIsMissing(tableName);
    // An explicit setup() still creates it; then the same store reads and writes.
    await stores[0]?.setup();
    await session.addItems([message('after setup')]);
    expect(await sessions[3]?.getItems()).toEqual([message('after setup')]);
    await Promise.all(stores.map((store) => store.close()));
  });
});

describe('options', () => {
  it('validates the table name with DynamoDB rules (CDK-style names pass)', () => {
    for (const bad of ['ab', 'a b', 'x'.repeat(256), 'tab/le', '', 42]) {
      expect(() => new DynamoDBSessionStore({ client: raw, tableName: bad as string })).toThrow(SessionValidationError);
      expect(() => new DynamoDBSession({ sessionId: 's', client: raw, tableName: bad as string })).toThrow(
        SessionValidationError,
      );
    }
    expect(new DynamoDBSessionStore({ client: raw, tableName: 'MyStack-Sessions.Table_1A2B' }).tableName).toBe(
      'MyStack-Sessions.Table_1A2B',
    );
    expect(new DynamoDBSessionStore({ client: raw }).tableName).toBe('agent_sessions');
  });

  it('refuses client together with clientConfig, and a client that is not one', () => {
    expect(() => new DynamoDBSessionStore({ client: raw, clientConfig: {} })).toThrow(SessionValidationError);
    expect(() => new DynamoDBSessionStore({ client: {} as never })).toThrow(SessionValidationError);
    expect(() => new DynamoDBSession({ sessionId: 's', client: undefined as never })).toThrow(SessionValidationError);
    expect(() => new DynamoDBSessionStore({ client: raw, ttlSeconds: -1 })).toThrow(SessionValidationError);
  });
});
