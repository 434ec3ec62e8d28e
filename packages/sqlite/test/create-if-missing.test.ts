// `createIfMissing: false` (issue #15): never create the file, the tables, the index or the WAL
// mode; reads of what is missing are empty, writes fail clearly; and a store that found nothing
// uses what appears later, without being rebuilt.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Client, createClient } from '@libsql/client';
import { type AgentInputItem, type SessionError, SessionStorageError, SessionValidationError } from '@sessions/core';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { SqliteSession, SqliteSessionStore } from '../src/index.js';
import { fileUrl, rawClient, tempDir, uniquePrefix } from './helpers.js';

const tmp = tempDir('create-if-missing');
afterAll(() => tmp.remove());

const message = (content: string): AgentInputItem => ({ type: 'message', role: 'user', content });

/** Every write a session has, and setup(): each must fail and create nothing. */
const writes: [string, (store: SqliteSessionStore) => Promise<unknown>][] = [
  ['addItems', (store) => store.session('s').addItems([message('x')])],
  ['clearSession', (store) => store.session('s').clearSession()],
  [
    'applyHistoryTransaction',
    (store) =>
      store
        .session('s')
        .applyHistoryTransaction({ operationId: 'op', transaction: { type: 'append_items', items: [message('x')] } }),
  ],
  ['replaceHistoryWithCompaction', (store) => store.session('s').replaceHistoryWithCompaction([message('x')])],
  ['updateMetadata', (store) => store.session('s').updateMetadata({ owner: 'ada' })],
  ['setup', (store) => store.setup()],
];

/** The catalog's reads (and deleteSession, which finds nothing to delete) answer "nothing here". */
async function expectEmptyCatalog(store: SqliteSessionStore): Promise<void> {
  expect(await store.listSessions()).toEqual({ sessions: [] });
  expect(await store.getSessionInfo('s')).toBeUndefined();
  expect(await store.session('s').getMetadata()).toEqual({});
  await store.deleteSession('s');
}

async function expectRefused(operation: string, call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => expect.fail(`${operation} succeeded`),
    (e: unknown) => e,
  );
  expect(error, operation).toBeInstanceOf(SessionStorageError);
  expect((error as SessionStorageError).operation).toBe(operation);
  expect((error as SessionError).message).toMatch(
    new RegExp(`^${operation} failed: the .* (do|does) not exist and createIfMissing is false, so nothing is created`),
  );
}

/** Names of the schema objects with `prefix` (tables, index, trigger). */
async function objectsOf(client: Client, prefix: string): Promise<string[]> {
  const result = await client.execute({
    sql: `SELECT name FROM sqlite_master WHERE name LIKE ? ESCAPE '\\' ORDER BY name`,
    args: [`${prefix.replaceAll('_', '\\_')}%`],
  });
  return result.rows.map((row) => String(row.name));
}

describe('createIfMissing: false', () => {
  it('a file that does not exist: reads are empty, writes and setup() fail, and no file appears', async () => {
    const dir = join(tmp.dir, 'absent');
    mkdirSync(dir);
    const path = join(dir, 'never.db');
    await using store = new SqliteSessionStore({ url: fileUrl(path), createIfMissing: false, timeoutMs: 2000 });
    const session = store.session('s');
    expect(await session.getItems()).toEqual([]);
    expect(await session.getItems(3)).toEqual([]);
    expect(await session.popItem()).toBeUndefined();
    expect(await store.deleteExpired()).toBe(0);
    await expectEmptyCatalog(store);
    for (const [operation, call] of writes) await expectRefused(operation, call(store));
    await expect(session.addItems([message('x')])).rejects.toThrow(/the database file does not exist/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]); // no -wal, -shm or -journal either
  });

  it('a file without the tables: reads are empty, writes fail, and nothing is created in it (not even WAL)', async () => {
    const url = fileUrl(join(tmp.dir, 'other.db'));
    const raw = rawClient(url);
    onTestFinished(() => raw.close());
    await raw.execute('CREATE TABLE unrelated (x)');
    const prefix = uniquePrefix('none');
    await using store = new SqliteSessionStore({ url, tablePrefix: prefix, createIfMissing: false, timeoutMs: 2000 });
    expect(await store.session('s').getItems()).toEqual([]);
    expect(await store.session('s').popItem()).toBeUndefined();
    await expectEmptyCatalog(store);
    for (const [operation, call] of writes) await expectRefused(operation, call(store));
    expect(await objectsOf(raw, prefix)).toEqual([]);
    const mode = await raw.execute('PRAGMA journal_mode');
    expect(String(mode.rows[0]![0]).toLowerCase()).toBe('delete');
  });

  it('the same store uses the file and tables once another store (createIfMissing: true) made them', async () => {
    const path = join(tmp.dir, 'later.db');
    const url = fileUrl(path);
    const prefix = uniquePrefix('later');
    await using reader = new SqliteSessionStore({ url, tablePrefix: prefix, createIfMissing: false, timeoutMs: 2000 });
    const session = reader.session('s');
    expect(await session.getItems()).toEqual([]);
    expect(existsSync(path)).toBe(false);
    {
      await using creator = new SqliteSessionStore({ url, tablePrefix: prefix });
      await creator.session('s').addItems([message('made elsewhere')]);
    }
    expect(await session.getItems()).toEqual([message('made elsewhere')]);
    await reader.setup(); // finds the tables: passes
    await session.addItems([message('mine')]);
    expect(await session.popItem()).toEqual(message('mine'));
    expect(await session.getItems()).toEqual([message('made elsewhere')]);
  });

  it("a session on a caller's client (`:memory:`) with createIfMissing: false creates no table", async () => {
    const client = createClient({ url: ':memory:' });
    onTestFinished(() => client.close());
    const prefix = uniquePrefix('mem');
    const session = new SqliteSession({ sessionId: 's', client, tablePrefix: prefix, createIfMissing: false });
    expect(await session.getItems()).toEqual([]);
    expect(await session.popItem()).toBeUndefined();
    await expect(session.addItems([message('x')])).rejects.toThrow(/createIfMissing is false/);
    expect(await objectsOf(client, prefix)).toEqual([]);
    await using store = new SqliteSessionStore({ client, tablePrefix: prefix, createIfMissing: false });
    await expectRefused('setup', store.setup());
    expect(await objectsOf(client, prefix)).toEqual([]);
  });

  it('must be a boolean', () => {
    const client = createClient({ url: ':memory:' });
    onTestFinished(() => client.close());
    expect(() => new SqliteSessionStore({ url: ':memory:', createIfMissing: 'no' as never })).toThrow(
      SessionValidationError,
    );
    expect(() => new SqliteSession({ sessionId: 's', client, createIfMissing: 0 as never })).toThrow(
      /createIfMissing must be true or false/,
    );
  });
});
