import { readFileSync } from 'node:fs';
import {
  parseListOptions,
  SessionItemTooLargeError,
  SessionStorageError,
  SessionValidationError,
} from '@sessions/core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { listStatement } from '../src/engine/catalog.js';
import { transaction } from '../src/engine/connection.js';
import { tablesFor } from '../src/engine/identifiers.js';
import { statementsFor } from '../src/engine/statements.js';
import { MySQLSession, MySQLSessionStore } from '../src/index.js';
import { countItems, dropTables, rawPool, uniqueName } from './helpers.js';

const url = inject('serviceUrls').mysql!;
const raw = rawPool(url, { connectionLimit: 6 });
const prefixes: string[] = [];
/** A fresh namespace, dropped after the run. */
const fresh = (tag: string) => {
  const prefix = uniqueName(tag);
  prefixes.push(prefix);
  return prefix;
};
afterAll(async () => {
  for (const prefix of prefixes) await dropTables(raw, prefix);
  await raw.end();
});

const message = (content: string, extra: Record<string, unknown> = {}) => ({
  type: 'message',
  role: 'user',
  content,
  ...extra,
});

describe('setup', () => {
  it('concurrent setup() from stores with separate pools creates the tables once; first use does it too', async () => {
    const tablePrefix = fresh('setup');
    const stores = Array.from({ length: 5 }, () => new MySQLSessionStore({ url, tablePrefix }));
    try {
      await Promise.all(stores.map((store) => store.setup()));
      await Promise.all(stores.map((store, i) => store.session('s').addItems([message(`m${i}`)])));
      expect(await stores[0]!.session('s').getItems()).toHaveLength(5);
      const [rows] = await raw.query(`SELECT version FROM \`${tablePrefix}schema_version\``);
      expect(rows).toEqual([{ version: 1 }]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('the README prints exactly the DDL setup() runs, and that DDL builds working tables', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(MySQLSessionStore.schemaSql().trim());
    const tablePrefix = fresh('ddl');
    for (const statement of MySQLSessionStore.schemaSql({ tablePrefix }).split(';\n\n')) {
      if (statement.trim()) await raw.query(statement.replace(/;\s*$/, ''));
    }
    await using store = new MySQLSessionStore({ url, tablePrefix, createIfMissing: false });
    await store.session('s').addItems([message('on hand-made tables')]);
    expect(await store.session('s').getItems()).toEqual([message('on hand-made tables')]);
  });

  it('a newer schema version is refused, not overwritten', async () => {
    const tablePrefix = fresh('newer');
    await using store = new MySQLSessionStore({ url, tablePrefix });
    await store.setup();
    await raw.query(`UPDATE \`${tablePrefix}schema_version\` SET version = 99`);
    await using later = new MySQLSessionStore({ url, tablePrefix });
    const error = await later.setup().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect((error as Error).message).toMatch(/schema version 99, newer than this package/);
  });

  it('createIfMissing: false reads missing tables as empty and refuses writes, creating nothing', async () => {
    const tablePrefix = fresh('nocreate');
    await using store = new MySQLSessionStore({ url, tablePrefix, createIfMissing: false });
    expect(await store.session('s').getItems()).toEqual([]);
    expect(await store.listSessions()).toEqual({ sessions: [] });
    const error = await store
      .session('s')
      .addItems([message('x')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect(error).toMatchObject({ operation: 'addItems' });
    expect((error as Error).message).toMatch(/run store\.setup\(\) first/);
    const [tables] = await raw.query('SHOW TABLES LIKE ?', [`${tablePrefix}%`]);
    expect(tables).toEqual([]);
  });

  it('a storage error names the public method called, with the server error as cause', async () => {
    const tablePrefix = fresh('opname');
    await using store = new MySQLSessionStore({ url, tablePrefix });
    await store.session('s').addItems([message('x')]);
    await raw.query(`DROP TABLE \`${tablePrefix}items\``);
    const error = await store
      .session('s')
      .addItems([message('y')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect(error).toMatchObject({ operation: 'addItems' });
    expect((error as { cause?: { errno?: number } }).cause?.errno).toBe(1146);
  });
});

describe('storage', () => {
  it('items are stored as the exact canonical text (LONGTEXT, not JSON): key order, numbers, NUL and astral characters', async () => {
    const tablePrefix = fresh('text');
    await using store = new MySQLSessionStore({ url, tablePrefix });
    const item = message('a\u0000b 😀 𝄞 é', { z: 1e21, a: 0.1, m: -0, big: 12345678901234567000 });
    await store.session('s').addItems([item]);
    const [rows] = await raw.query(`SELECT item FROM \`${tablePrefix}items\``);
    expect((rows as { item: string }[])[0]?.item).toBe(
      '{"a":0.1,"big":12345678901234567000,"content":"a\\u0000b 😀 𝄞 é","m":0,"role":"user","type":"message","z":1e+21}',
    );
    expect(await store.session('s').getItems()).toEqual([{ ...item, m: 0 }]);
  });

  it('ids are bytes: trailing spaces, case and accents make different sessions', async () => {
    const tablePrefix = fresh('ids');
    await using store = new MySQLSessionStore({ url, tablePrefix });
    const ids = ['a', 'a ', 'A', 'á', 'a\u0301'];
    for (const id of ids) await store.session(id).addItems([message(id)]);
    for (const id of ids) expect(await store.session(id).getItems()).toEqual([message(id)]);
  });

  it('a 20,000-item batch is one JSON parameter, far past the 65,535 placeholders of a statement', async () => {
    const tablePrefix = fresh('batch');
    await using store = new MySQLSessionStore({ url, tablePrefix, timeoutMs: 60_000 });
    const items = Array.from({ length: 20_000 }, (_, i) => message(`m${i}`, { i }));
    await store.session('s').addItems(items);
    expect(await store.session('s').getItems()).toEqual(items);
    expect(await store.getSessionInfo('s')).toMatchObject({ itemCount: 20_000 });
  });

  it('a batch over one statement (chunked) lands in one transaction: all or nothing, in order', async () => {
    const tablePrefix = fresh('chunks');
    await using store = new MySQLSessionStore({ url, tablePrefix, timeoutMs: 60_000 });
    // 8 items of ~3 MiB: several chunks of at most 6 MiB of JSON each.
    const items = Array.from({ length: 8 }, (_, i) => message('"'.repeat(1024 * 1024) + i, { i }));
    await store.session('s').addItems(items);
    const stored = await store.session('s').getItems();
    expect(stored.map((item) => (item as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(stored).toEqual(items);
  });

  it('an item over 4 MiB is refused with SessionItemTooLargeError; nothing is written', async () => {
    const tablePrefix = fresh('large');
    await using store = new MySQLSessionStore({ url, tablePrefix });
    await store.setup();
    await expect(store.session('s').addItems([message('x'.repeat(4 * 1024 * 1024 + 1))])).rejects.toBeInstanceOf(
      SessionItemTooLargeError,
    );
    expect(await countItems(raw, 's', tablePrefix)).toBe(0);
  });

  it('getItems(limit) reads the items primary key backwards, and the listing walks its index', async () => {
    const tablePrefix = fresh('plan');
    await using store = new MySQLSessionStore({ url, tablePrefix });
    await store.session('s').addItems(Array.from({ length: 50 }, (_, i) => message(`m${i}`)));
    const t = tablesFor(tablePrefix);
    const [plan] = await raw.execute(`EXPLAIN ${statementsFor(t).readNewest}`, ['s', '5']);
    const items = (plan as { table: string; key: string }[]).find((row) => row.table === 'i');
    expect(items?.key).toBe('PRIMARY');
    const { sql, params } = listStatement(t, parseListOptions({ limit: 10 }));
    const [listing] = await raw.execute(`EXPLAIN ${sql}`, params as never);
    expect((listing as { key: string; Extra: string }[])[0]).toMatchObject({ key: `${tablePrefix}sessions_recent` });
    expect((listing as { Extra: string }[])[0]?.Extra ?? '').not.toMatch(/filesort/);
  });
});

describe('concurrency beyond the contract', () => {
  it('the same operationId sent 20 times at once on a new session applies once', async () => {
    const tablePrefix = fresh('sameop');
    await using store = new MySQLSessionStore({ url, tablePrefix });
    const transactionArgs = {
      operationId: 'op',
      transaction: { type: 'append_items' as const, items: [message('once')] },
    };
    await Promise.all(Array.from({ length: 20 }, () => store.session('s').applyHistoryTransaction(transactionArgs)));
    expect(await store.session('s').getItems()).toEqual([message('once')]);
  });

  it('20 writers on neighbouring new sessions: clears, adds, pops, compactions and transactions, no error (no gap-lock deadlock)', async () => {
    const tablePrefix = fresh('neighbours');
    await using store = new MySQLSessionStore({ url, tablePrefix, clientOptions: { connectionLimit: 20 } });
    const errors: unknown[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        const session = store.session(`n${String(w).padStart(2, '0')}`);
        for (let round = 0; round < 8; round++) {
          try {
            await session.replaceHistoryWithCompaction([message(`c${round}`)]);
            await session.addItems([message(`a${round}`), message(`b${round}`)]);
            await session.applyHistoryTransaction({
              operationId: `w${w}r${round}`,
              transaction: {
                type: 'replace_suffix',
                expectedSuffix: [message(`b${round}`)],
                replacement: [message('t')],
              },
            });
            await session.popItem();
            if (round % 3 === 0) await session.clearSession();
          } catch (error) {
            errors.push(error);
          }
        }
      }),
    );
    expect(errors).toEqual([]);
    const info = await store.getSessionInfo('n00');
    expect(info?.itemCount).toBe((await store.session('n00').getItems()).length);
  });

  it('a deadlock rolls the transaction back and runs it again, inside the operation', async () => {
    const tablePrefix = fresh('deadlock');
    await using store = new MySQLSessionStore({ url, tablePrefix });
    await store.session('a').addItems([message('a')]);
    await store.session('b').addItems([message('b')]);
    const t = `\`${tablePrefix}sessions\``;
    // The other transaction writes many rows first, so InnoDB picks ours (the lighter) as the victim.
    const other = await raw.getConnection();
    const retries: unknown[] = [];
    try {
      await other.query('START TRANSACTION');
      await other.query(`UPDATE ${t} SET item_count = item_count WHERE session_id = 'a'`);
      await other.query(
        `INSERT INTO \`${tablePrefix}items\` (session_id, seq, item) VALUES ${Array.from({ length: 200 }, (_, i) => `('heavy', ${i}, 'x')`).join(',')}`,
      );
      let attempts = 0;
      let lockedB!: () => void;
      const bLocked = new Promise<void>((resolve) => {
        lockedB = resolve;
      });
      const ours = transaction(
        store.client,
        { timeoutMs: 20_000, readCommitted: false, onRetry: (error) => retries.push(error) },
        async (run) => {
          attempts++;
          await run.write(`UPDATE ${t} SET item_count = item_count WHERE session_id = 'b'`, []);
          lockedB();
          await run.write(`UPDATE ${t} SET item_count = item_count WHERE session_id = 'a'`, []);
          return attempts;
        },
      );
      await bLocked;
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Closes the cycle: ours waits for 'a' (held here), this waits for 'b' (held by ours).
      await other.query(`UPDATE ${t} SET item_count = item_count WHERE session_id = 'b'`);
      await other.query('COMMIT');
      expect(await ours).toBe(2);
    } finally {
      other.release();
    }
    expect(retries).toHaveLength(1);
    expect((retries[0] as { errno?: number }).errno).toBe(1213);
  });
});

describe('maintenance and clients', () => {
  it('deleteExpired() removes expired sessions with their rows and leaves live ones', async () => {
    const tablePrefix = fresh('expired');
    await using store = new MySQLSessionStore({ url, tablePrefix, ttlSeconds: 1 });
    await using keep = new MySQLSessionStore({ url, tablePrefix });
    for (let i = 0; i < 5; i++) await store.session(`gone${i}`).addItems([message('x'), message('y')]);
    await keep.session('kept').addItems([message('kept')]);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(await store.deleteExpired({ batchSize: 2 })).toBe(5);
    expect(await countItems(raw, 'gone0', tablePrefix)).toBe(0);
    expect(await keep.session('kept').getItems()).toEqual([message('kept')]);
    expect(await store.deleteExpired()).toBe(0);
  });

  it("a session on a caller's pool (mysql2 callback or promise API) works; the store never ends it", async () => {
    const tablePrefix = fresh('caller');
    const mysql = await import('mysql2');
    const callbackPool = mysql.createPool({ uri: url, connectionLimit: 2 });
    try {
      const session = new MySQLSession({ sessionId: 's', client: callbackPool as never, tablePrefix });
      await session.addItems([message('via a callback pool')]);
      const store = new MySQLSessionStore({ pool: raw, tablePrefix });
      expect(await store.session('s').getItems()).toEqual([message('via a callback pool')]);
      await store.close();
      const [rows] = await raw.query('SELECT 1 AS ok');
      expect(rows).toEqual([{ ok: 1 }]);
    } finally {
      await new Promise((resolve) => callbackPool.end(resolve));
    }
  });

  it('bad options are refused before any I/O', () => {
    expect(() => new MySQLSessionStore({ url, tablePrefix: 'x; DROP TABLE y' })).toThrow(SessionValidationError);
    expect(() => new MySQLSessionStore({ url, client: raw })).toThrow(SessionValidationError);
    expect(() => new MySQLSessionStore({ client: {} as never })).toThrow(SessionValidationError);
    expect(() => new MySQLSessionStore({ url, ttlSeconds: 200 * 365 * 24 * 3600 })).toThrow(SessionValidationError);
    expect(() => new MySQLSession({ sessionId: 's' } as never)).toThrow(SessionValidationError);
  });
});
