import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySessionStore, SessionValidationError } from '@sessions/core';
import { afterAll, describe, expect, it } from 'vitest';
import { openSessionStore, resolveStoreUrl, takeParams } from '../src/open-store.js';

const dir = mkdtempSync(join(tmpdir(), 'sessions-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const msg = (text: string) => ({ type: 'message', role: 'user', content: text });

describe('openSessionStore', () => {
  it('memory: is a fresh store; memory:<name> is shared within the process', async () => {
    const a = await openSessionStore('memory:');
    expect(a).toBeInstanceOf(InMemorySessionStore);
    await a.session('s').addItems([msg('only in a')]);
    expect(await (await openSessionStore('memory:')).session('s').getItems()).toEqual([]);
    await (await openSessionStore('memory:shared-test')).session('s').addItems([msg('shared')]);
    expect(await (await openSessionStore('memory:shared-test')).session('s').getItems()).toEqual([msg('shared')]);
    const ttl = (await openSessionStore('memory:?ttlSeconds=60')) as InMemorySessionStore;
    expect(ttl.ttlSeconds).toBe(60);
    await a.close();
  });

  it('file: opens a SQLite database in a file that outlives the store', async () => {
    const url = `file:${join(dir, 'sessions.db')}?tablePrefix=cli_test_`;
    const store = await openSessionStore(url);
    expect(store.constructor.name).toBe('SqliteSessionStore');
    await store.session('s1').addItems([msg('persisted')]);
    await store.close();
    await using again = await openSessionStore(url);
    expect(await again.session('s1').getItems()).toEqual([msg('persisted')]);
    // Another table prefix is another namespace in the same file.
    await using other = await openSessionStore(`file:${join(dir, 'sessions.db')}?tablePrefix=cli_other_`);
    expect(await other.session('s1').getItems()).toEqual([]);
  });

  it('refuses unknown schemes and bad parameters, without echoing credentials', async () => {
    const error = await openSessionStore('ftp://user:hunter2@host/x').catch((e) => e);
    expect(error).toBeInstanceOf(SessionValidationError);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('ftp://***@host/x');
    await expect(openSessionStore('memory:?ttlSeconds=soon')).rejects.toThrow(SessionValidationError);
    await expect(openSessionStore('memory:?ttlSeconds=-1')).rejects.toThrow(SessionValidationError);
    await expect(openSessionStore('')).rejects.toThrow(SessionValidationError);
  });

  it('dynamodb:// builds a DynamoDBSessionStore (no I/O until first use)', async () => {
    await using store = await openSessionStore('dynamodb://local:local@127.0.0.1:1/cli_table?region=us-east-1');
    expect(store.constructor.name).toBe('DynamoDBSessionStore');
    expect((store as unknown as { tableName: string }).tableName).toBe('cli_table');
  });
});

describe('resolveStoreUrl: the scheme table', () => {
  it('maps every scheme to its store and strips the parameters it reads', async () => {
    expect(await resolveStoreUrl(':memory:')).toMatchObject({ backend: 'sqlite', options: { url: ':memory:' } });
    expect(await resolveStoreUrl('file:rel/chat.db?ttlSeconds=5&tablePrefix=t_&mode=ro')).toMatchObject({
      backend: 'sqlite',
      exportName: 'SqliteSessionStore',
      options: { url: 'file:rel/chat.db?mode=ro', ttlSeconds: 5, tablePrefix: 't_' },
    });
    expect((await resolveStoreUrl('libsql://db.turso.io?authToken=abc&tablePrefix=x_')).options).toEqual({
      url: 'libsql://db.turso.io?authToken=abc',
      tablePrefix: 'x_',
    });
    expect((await resolveStoreUrl('https://db.example.com')).backend).toBe('sqlite');
    expect(await resolveStoreUrl('rediss://:pw@cache:6380/2?keyPrefix=chat&ttlSeconds=3600')).toEqual({
      backend: 'redis',
      module: '@sessions/redis',
      exportName: 'RedisSessionStore',
      options: { url: 'rediss://:pw@cache:6380/2', keyPrefix: 'chat', ttlSeconds: 3600 },
    });
    expect(
      (await resolveStoreUrl('postgresql://u:p@db/app?sslmode=require&schema=chat&tablePrefix=s_&prepare=false'))
        .options,
    ).toEqual({ url: 'postgresql://u:p@db/app?sslmode=require', schema: 'chat', tablePrefix: 's_', prepare: false });
    expect(
      await resolveStoreUrl('mongodb+srv://u:p@cluster/app?retryWrites=true&collectionPrefix=c_&database=d'),
    ).toEqual({
      backend: 'mongodb',
      module: '@sessions/mongo',
      exportName: 'MongoSessionStore',
      options: { url: 'mongodb+srv://u:p@cluster/app?retryWrites=true', collectionPrefix: 'c_', database: 'd' },
    });
    // Explicit options win over the URL.
    expect(
      (await resolveStoreUrl('redis://h?ttlSeconds=5', { ttlSeconds: 9, clientOptions: { x: 1 } })).options,
    ).toEqual({
      url: 'redis://h',
      ttlSeconds: 9,
      clientOptions: { x: 1 },
    });
  });

  it('dynamodb://: endpoint from host and port, table from the path, region and credentials', async () => {
    expect(await resolveStoreUrl('dynamodb://localhost:8000/chat_sessions?region=eu-west-1&ttlSeconds=60')).toEqual({
      backend: 'dynamodb',
      module: '@sessions/dynamodb',
      exportName: 'DynamoDBSessionStore',
      options: {
        clientConfig: { endpoint: 'http://localhost:8000', region: 'eu-west-1' },
        tableName: 'chat_sessions',
        ttlSeconds: 60,
      },
    });
    expect(
      (await resolveStoreUrl('dynamodb://AKID:se%2Fcret@ddb.local:4566/t?region=us-east-1&tls=true')).options,
    ).toEqual({
      clientConfig: {
        endpoint: 'https://ddb.local:4566',
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKID', secretAccessKey: 'se/cret' },
      },
      tableName: 't',
    });
    // No host: AWS's own endpoint for the region.
    expect((await resolveStoreUrl('dynamodb:///prod_sessions?region=ap-south-1')).options).toEqual({
      clientConfig: { region: 'ap-south-1' },
      tableName: 'prod_sessions',
    });
    expect((await resolveStoreUrl('dynamodb://h/t?createTable=false')).options.createTable).toBe(false);
    await expect(resolveStoreUrl('dynamodb://h/t?region=x&bogus=1')).rejects.toThrow(SessionValidationError);
    await expect(resolveStoreUrl('dynamodb://h/a/b')).rejects.toThrow(SessionValidationError);
  });

  it('takeParams keeps the rest of the URL byte for byte', () => {
    expect(takeParams('file:a b.db?x=%20y&ttlSeconds=1#frag', ['ttlSeconds'])).toEqual({
      rest: 'file:a b.db?x=%20y#frag',
      params: new Map([['ttlSeconds', '1']]),
    });
    expect(takeParams('redis://h', ['keyPrefix']).rest).toBe('redis://h');
    expect(takeParams('redis://h?keyPrefix=a%5Fb', ['keyPrefix']).params.get('keyPrefix')).toBe('a_b');
  });
});
