import { SessionConnectionError, SessionStorageError } from '@sessions/core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PostgresSession, PostgresSessionStore } from '../src/index.js';
import { rawClient, uniqueName } from './helpers.js';

// `createIfMissing: false`: a store that never creates a schema, table or index. Every check of
// "nothing was created" reads the catalog directly.
const url = inject('postgresUrl');
const raw = rawClient(url, { max: 2 });
afterAll(() => raw.end());

const message = (content: string) => ({ type: 'message', role: 'user', content });

/** Every relation (table, index, sequence...) of `schema` whose name starts with `prefix`, and whether the schema exists. */
async function catalog(schema: string, prefix: string): Promise<{ schema: boolean; relations: string[] }> {
  const [row] = await raw.unsafe<{ present: boolean }[]>(
    'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text) AS present',
    [schema],
  );
  const relations = await raw.unsafe<{ name: string }[]>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1::text AND starts_with(c.relname, $2::text) ORDER BY 1`,
    [schema, prefix],
  );
  return { schema: row?.present ?? false, relations: relations.map((r) => r.name) };
}

async function refusedWrite(call: () => Promise<unknown>, operation: string): Promise<void> {
  const error = await call().then(
    () => expect.fail(`${operation} should have failed`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SessionStorageError);
  expect(error).not.toBeInstanceOf(SessionConnectionError);
  expect(error).toMatchObject({ operation, code: 'STORAGE' });
  expect((error as Error).message).toContain('do not exist: run store.setup() first');
  expect((error as Error).message).toContain('createIfMissing: false');
}

describe('createIfMissing: false', () => {
  for (const where of ['a fresh table prefix in public', 'a schema that does not exist']) {
    it(`${where}: reads are empty, writes fail clearly, nothing is created`, async () => {
      const schema = where.includes('schema') ? uniqueName('nosch').slice(0, -1) : 'public';
      const tablePrefix = uniqueName('cim');
      await using store = new PostgresSessionStore({ url, schema, tablePrefix, createIfMissing: false });
      const session = store.session('s');
      expect(await session.getItems()).toEqual([]);
      expect(await session.getItems(3)).toEqual([]);
      expect(await session.popItem()).toBeUndefined();
      expect(await store.deleteExpired()).toBe(0);
      // applyHistoryMutations reads first: nothing stored, nothing to replace, nothing written.
      await session.applyHistoryMutations({
        mutations: [{ type: 'replace_function_call', callId: 'c', replacement: message('x') as never }],
      });

      await refusedWrite(() => session.addItems([message('a')]), 'addItems');
      await refusedWrite(() => session.clearSession(), 'clearSession');
      await refusedWrite(
        () =>
          session.applyHistoryTransaction({
            operationId: 'op',
            transaction: { type: 'append_items', items: [message('b')] },
          }),
        'applyHistoryTransaction',
      );
      await refusedWrite(() => session.replaceHistoryWithCompaction([message('c')]), 'replaceHistoryWithCompaction');

      expect(await catalog(schema, tablePrefix)).toEqual({ schema: schema === 'public', relations: [] });

      // setup() is the explicit way to create them; then the same store reads and writes.
      await store.setup();
      expect((await catalog(schema, tablePrefix)).relations.length).toBeGreaterThanOrEqual(4);
      await session.addItems([message('a')]);
      expect(await session.getItems()).toEqual([message('a')]);
      if (schema !== 'public') await raw.unsafe(`DROP SCHEMA "${schema}" CASCADE`);
    });
  }

  it('on tables another store created, it reads and writes normally; a newer schema is refused', async () => {
    const tablePrefix = uniqueName('cimok');
    await using creator = new PostgresSessionStore({ url, tablePrefix });
    await creator.session('s').addItems([message('one')]);
    await using store = new PostgresSessionStore({ url, tablePrefix, createIfMissing: false });
    expect(await store.session('s').getItems()).toEqual([message('one')]);
    await store.session('s').addItems([message('two')]);
    expect(await store.session('s').popItem()).toEqual(message('two'));

    await raw.unsafe(`UPDATE "${tablePrefix}schema_version" SET version = 99`);
    await using late = new PostgresSessionStore({ url, tablePrefix, createIfMissing: false });
    const error = await late
      .session('s')
      .getItems()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect((error as Error).message).toMatch(/schema version 99, newer than this package/);
  });

  it('a caller client without prepared statements (pooler mode) and a one-off PostgresSession behave the same', async () => {
    const client = rawClient(url, { prepare: false, max: 2 });
    try {
      const tablePrefix = uniqueName('cimpool');
      await using store = new PostgresSessionStore({ client, prepare: false, tablePrefix, createIfMissing: false });
      expect(await store.session('s').getItems()).toEqual([]);
      await refusedWrite(() => store.session('s').addItems([message('a')]), 'addItems');
      const oneOff = new PostgresSession({
        sessionId: 's',
        client,
        tablePrefix,
        prepare: false,
        createIfMissing: false,
      });
      expect(await oneOff.popItem()).toBeUndefined();
      await refusedWrite(() => oneOff.addItems([message('a')]), 'addItems');
      expect(await catalog('public', tablePrefix)).toEqual({ schema: true, relations: [] });
    } finally {
      await client.end();
    }
  });
});
