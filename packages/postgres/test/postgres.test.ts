import { readFile } from 'node:fs/promises';
import {
  SessionClosedError,
  SessionConflictError,
  SessionConnectionError,
  SessionItemTooLargeError,
  SessionStorageError,
  SessionValidationError,
  TRANSACTION_VERDICTS,
} from '@sessions/core';
import { freePort } from '@sessions/test-services';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MAX_ITEM_BYTES } from '../src/engine/batches.js';
import { tablesFor } from '../src/engine/identifiers.js';
import { buildQueries } from '../src/engine/queries.js';
import { PostgresSession, PostgresSessionStore } from '../src/index.js';
import { countItems, rawClient, uniqueName } from './helpers.js';

const url = inject('postgresUrl');
const raw = rawClient(url, { max: 8 });
afterAll(() => raw.end());

const message = (content: string, extra: Record<string, unknown> = {}) => ({
  type: 'message',
  role: 'user',
  content,
  ...extra,
});
const numbered = (tag: string, n: number) => Array.from({ length: n }, (_, i) => message(`${tag}-${i}`, { i }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function tableNames(schema: string, prefix: string): Promise<string[]> {
  const rows = await raw.unsafe<{ name: string }[]>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = $1::text AND starts_with(tablename, $2::text) ORDER BY 1`,
    [schema, prefix],
  );
  return rows.map((row) => row.name);
}

describe('schema and migrations', () => {
  it('concurrent migrate() from several stores (separate clients) creates the tables once', async () => {
    const tablePrefix = uniqueName('mig');
    const stores = Array.from({ length: 6 }, () => new PostgresSessionStore({ url, tablePrefix }));
    try {
      await Promise.all(stores.map((store) => store.migrate()));
      await Promise.all(stores.map((store) => store.migrate()));
      expect(await tableNames('public', tablePrefix)).toEqual(
        ['items', 'operations', 'schema_version', 'sessions'].map((t) => tablePrefix + t),
      );
      const versions = await raw.unsafe(`SELECT id, version FROM "${tablePrefix}schema_version"`);
      expect(versions.map((row) => ({ ...row }))).toEqual([{ id: 1, version: 2 }]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('concurrent first use on a fresh namespace (lazy migration, no migrate() call) loses nothing', async () => {
    const tablePrefix = uniqueName('lazy');
    const stores = Array.from({ length: 5 }, () => new PostgresSessionStore({ url, tablePrefix }));
    try {
      await Promise.all(
        stores.flatMap((store, s) =>
          Array.from({ length: 4 }, (_, w) => store.session('shared').addItems([message(`s${s}w${w}`)])),
        ),
      );
      expect(await stores[0]!.session('shared').getItems()).toHaveLength(20);
      expect(await countItems(raw, 'shared', { tablePrefix })).toBe(20);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('the DDL printed for teams that manage schema themselves is what migrate() expects', async () => {
    const schema = uniqueName('ddl').slice(0, -1);
    const tablePrefix = 'chat_';
    const ddl = PostgresSessionStore.schemaSql({ schema, tablePrefix });
    expect(ddl).toContain(`CREATE TABLE IF NOT EXISTS "${schema}"."chat_items"`);
    try {
      await raw.unsafe(ddl);
      await using store = new PostgresSessionStore({ url, schema, tablePrefix });
      await store.migrate();
      await store.session('x').addItems([message('hello')]);
      expect(await store.session('x').getItems()).toEqual([message('hello')]);
      expect(await tableNames(schema, tablePrefix)).toHaveLength(4);
    } finally {
      await raw.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('the README prints exactly the DDL of the default namespace', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const block = /## Schema[\s\S]*?```sql\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(PostgresSessionStore.schemaSql());
  });

  it('a newer schema version than the package knows is refused, not overwritten', async () => {
    const tablePrefix = uniqueName('future');
    await using store = new PostgresSessionStore({ url, tablePrefix });
    await store.migrate();
    await raw.unsafe(`UPDATE "${tablePrefix}schema_version" SET version = 99`);
    await using other = new PostgresSessionStore({ url, tablePrefix });
    const error = await other.migrate().catch((e) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect(error.message).toMatch(/version 99/);
  });
});

describe('setup() and operation names', () => {
  it('setup() creates the tables; migrate() is its alias; both are idempotent', async () => {
    const tablePrefix = uniqueName('setup');
    await using store = new PostgresSessionStore({ url, tablePrefix });
    await store.setup();
    expect(await tableNames('public', tablePrefix)).toHaveLength(4);
    await store.migrate();
    await store.setup();
    await store.session('s').addItems([message('x')]);
    expect(await store.session('s').getItems()).toEqual([message('x')]);
    await store.close();
    await expect(store.setup()).rejects.toBeInstanceOf(SessionClosedError);
    await expect(store.migrate()).rejects.toBeInstanceOf(SessionClosedError);
  });

  it('a storage error names the public method called, never an internal step', async () => {
    const tablePrefix = uniqueName('opnames');
    await using first = new PostgresSessionStore({ url, tablePrefix });
    await first.setup();
    await raw.unsafe(`UPDATE "${tablePrefix}schema_version" SET version = 99`);
    // Fresh stores, so that each call runs the (failing) setup itself.
    const calls: Array<[string, (store: PostgresSessionStore) => Promise<unknown>]> = [
      ['setup', (store) => store.setup()],
      ['setup', (store) => store.migrate()],
      ['getItems', (store) => store.session('s').getItems()],
      ['addItems', (store) => store.session('s').addItems([message('x')])],
      [
        'applyHistoryTransaction',
        (store) =>
          store.session('s').applyHistoryTransaction({
            operationId: 'o',
            transaction: { type: 'append_items', items: [message('x')] },
          }),
      ],
      ['deleteExpired', (store) => store.deleteExpired()],
    ];
    for (const [operation, call] of calls) {
      await using store = new PostgresSessionStore({ url, tablePrefix });
      const error = (await call(store).catch((e: unknown) => e)) as SessionStorageError;
      expect(error, operation).toBeInstanceOf(SessionStorageError);
      expect(error.operation).toBe(operation);
      expect(error.message).toMatch(new RegExp(`^${operation} failed: .*version 99`));
    }
  });

  it('an unreachable server during setup() is a SessionConnectionError for operation setup', async () => {
    const port = await freePort();
    await using store = new PostgresSessionStore({
      url: `postgres://u@127.0.0.1:${port}/db`,
      clientOptions: { connect_timeout: 2 },
    });
    const error = await store.migrate().catch((e) => e);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect(error.operation).toBe('setup');
  });

  it("a refused transaction reports core's verdicts: replayed is silent, a reused id is a conflict", async () => {
    const tablePrefix = uniqueName('verdict');
    await using store = new PostgresSessionStore({ url, tablePrefix });
    const session = store.session('v');
    const args = { operationId: 'op', transaction: { type: 'append_items' as const, items: [message('a')] } };
    await session.applyHistoryTransaction(args);
    await session.applyHistoryTransaction(args);
    expect(await session.getItems()).toEqual([message('a')]);
    const reused = await session
      .applyHistoryTransaction({ operationId: 'op', transaction: { type: 'append_items', items: [message('b')] } })
      .catch((e) => e);
    expect(reused).toBeInstanceOf(SessionConflictError);
    expect(reused.reason).toBe('operation_id_reused');
    expect(reused.message).toBe('operationId "op" was already used for a different transaction');
    const mismatch = await session
      .applyHistoryTransaction({
        operationId: 'op2',
        transaction: { type: 'replace_suffix', expectedSuffix: [message('zzz')], replacement: [] },
      })
      .catch((e) => e);
    expect(mismatch).toBeInstanceOf(SessionConflictError);
    expect(mismatch.reason).toBe('suffix_mismatch');
  });

  it("the SQL that decides a transaction returns exactly core's verdict strings", () => {
    const sql = buildQueries(tablesFor('public', 'agent_')).transaction;
    const verdicts = new Set([...sql.matchAll(/(?:THEN|ELSE) '(\w+)'/g)].map((m) => m[1]));
    expect([...verdicts].sort()).toEqual([...TRANSACTION_VERDICTS].sort());
  });
});

describe('names', () => {
  it('schema and table prefix are validated before use: injection attempts are refused without I/O', () => {
    const client = postgres('postgres://nobody@127.0.0.1:1/none'); // never connected to
    const bad: Array<Record<string, unknown>> = [
      { tablePrefix: 'x"; DROP TABLE agent_items; --' },
      { tablePrefix: 'agent items' },
      { tablePrefix: '' },
      { tablePrefix: 'a'.repeat(49) },
      { tablePrefix: 42 },
      { tablePrefix: 'é_' },
      { schema: 'public"."evil' },
      { schema: "public'; --" },
      { schema: '1abc' },
      { schema: null },
    ];
    for (const options of bad) {
      expect(() => new PostgresSessionStore({ client, ...options }), JSON.stringify(options)).toThrow(
        SessionValidationError,
      );
      expect(() => new PostgresSession({ sessionId: 'x', client, ...options }), JSON.stringify(options)).toThrow(
        SessionValidationError,
      );
    }
  });

  it('SQL keywords as schema and prefix, and session ids full of quotes and SQL, are plain data', async () => {
    const schema = 'Select';
    const tablePrefix = `Order_${uniqueName('by')}`;
    const ids = [
      `'); DROP TABLE "${tablePrefix}items"; --`,
      '"; DELETE FROM agent_sessions; --',
      "' OR '1'='1",
      '$1::text); SELECT pg_sleep(10); --',
      "E'\\x00'",
      'select * from "Select"."Order_items" where true',
    ];
    await using store = new PostgresSessionStore({ url, schema, tablePrefix });
    try {
      for (const [k, id] of ids.entries()) await store.session(id).addItems([message(id, { k })]);
      for (const [k, id] of ids.entries()) expect(await store.session(id).getItems()).toEqual([message(id, { k })]);
      expect(await tableNames(schema, tablePrefix)).toEqual(
        ['items', 'operations', 'schema_version', 'sessions'].map((t) => tablePrefix + t),
      );
      expect(await countItems(raw, ids[0]!, { schema, tablePrefix })).toBe(1);
    } finally {
      for (const t of ['items', 'operations', 'schema_version', 'sessions']) {
        await raw.unsafe(`DROP TABLE IF EXISTS "${schema}"."${tablePrefix}${t}"`);
      }
    }
  });
});

describe('large batches', () => {
  it('a 20,000-item batch (one text[] parameter, far past 65,535 / 3 bind parameters) lands atomically', async () => {
    const tablePrefix = uniqueName('big');
    await using store = new PostgresSessionStore({ url, tablePrefix });
    const session = store.session('big');
    await session.addItems([message('before')]);
    const items = numbered('bulk', 20_000);
    // A raw reader polls the committed row count while the batch is written: 1 or 20,001.
    let writing = true;
    const seen = new Set<number>();
    const reader = (async () => {
      while (writing) {
        seen.add(await countItems(raw, 'big', { tablePrefix }));
        await sleep(1);
      }
    })();
    const started = performance.now();
    await session.addItems(items);
    const elapsed = performance.now() - started;
    writing = false;
    await reader;
    seen.add(await countItems(raw, 'big', { tablePrefix }));
    for (const count of seen) expect([1, 20_001]).toContain(count);
    const read = await session.getItems();
    expect(read).toHaveLength(20_001);
    expect(read.slice(1)).toEqual(items);
    expect(await session.getItems(3)).toEqual(items.slice(-3));
    console.log(`[postgres] addItems of 20,000 items: ${elapsed.toFixed(0)} ms`);

    // With statistics, the newest-N read is an index scan backward: no sort, no full read.
    await raw.unsafe(`ANALYZE "${tablePrefix}items"`);
    await raw.unsafe(`ANALYZE "${tablePrefix}sessions"`);
    const plan = await raw.unsafe(`EXPLAIN ${buildQueries(tablesFor('public', tablePrefix)).readNewest}`, ['big', 10]);
    const text = plan.map((row) => row['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan Backward using "?\w+items_pkey/);
    expect(text).not.toMatch(/Sort|Seq Scan on \S*items/);
  });

  it('batches over one statement (tens of MB) are chunked inside one transaction: all or nothing, in order', async () => {
    const tablePrefix = uniqueName('chunk');
    await using store = new PostgresSessionStore({ url, tablePrefix });
    await store.migrate();
    const session = store.session('chunked');
    const blob = (tag: string, size: number) => message(tag, { data: `${tag}:`.padEnd(size, 'abcd') });
    const quoted = message('quoted', { data: ''.padEnd(1_000_000, '\\"\u0001\u0000') });
    const items = [blob('a', 6_500_000), quoted, blob('b', 6_500_000), blob('c', 4_000_000)];
    let writing = true;
    const seen = new Set<number>();
    const reader = (async () => {
      while (writing) {
        seen.add(await countItems(raw, 'chunked', { tablePrefix }));
        await sleep(2);
      }
    })();
    await session.addItems(items);
    writing = false;
    await reader;
    for (const count of seen) expect([0, 4]).toContain(count);
    expect(await session.getItems()).toEqual(items);

    // The same chunking for compaction and for a transaction's replacement.
    const compacted = [message('summary'), blob('d', 8_500_000), blob('e', 8_500_000)];
    await session.replaceHistoryWithCompaction(compacted);
    expect(await session.getItems()).toEqual(compacted);
    const replacement = [blob('f', 8_500_000), message('mid'), blob('g', 8_500_000)];
    await session.applyHistoryTransaction({
      operationId: 'big-replace',
      transaction: { type: 'replace_suffix', expectedSuffix: compacted.slice(1), replacement },
    });
    expect(await session.getItems()).toEqual([compacted[0], ...replacement]);
    expect(await countItems(raw, 'chunked', { tablePrefix })).toBe(4);
  });

  it(`an item over ${MAX_ITEM_BYTES} UTF-8 bytes is refused with SessionItemTooLargeError; nothing is written`, async () => {
    const tablePrefix = uniqueName('huge');
    await using store = new PostgresSessionStore({ url, tablePrefix });
    const session = store.session('huge');
    await session.addItems([message('kept')]);
    const huge = message('€'.repeat(Math.ceil(MAX_ITEM_BYTES / 3)));
    const error = await session.addItems([message('first'), huge]).catch((e) => e);
    expect(error).toBeInstanceOf(SessionItemTooLargeError);
    expect(error.path).toBe('items[1]');
    expect(error.maxBytes).toBe(MAX_ITEM_BYTES);
    expect(await session.getItems()).toEqual([message('kept')]);
    expect(await countItems(raw, 'huge', { tablePrefix })).toBe(1);
  });
});

describe('ttl', () => {
  it('a write after expiry starts a fresh history, deletes the old rows and forgets operation ids', async () => {
    const tablePrefix = uniqueName('ttl');
    await using store = new PostgresSessionStore({ url, tablePrefix, ttlSeconds: 1 });
    const session = store.session('t');
    await session.addItems(numbered('old', 3));
    await session.applyHistoryTransaction({
      operationId: 'op-1',
      transaction: { type: 'append_items', items: [message('old-op')] },
    });
    await sleep(1300);
    expect(await session.getItems()).toEqual([]);
    expect(await countItems(raw, 't', { tablePrefix })).toBe(4); // still there physically
    // The same operation id with another transaction is new again: the expired history is gone.
    await session.applyHistoryTransaction({
      operationId: 'op-1',
      transaction: { type: 'append_items', items: [message('new-op')] },
    });
    expect(await session.getItems()).toEqual([message('new-op')]);
    expect(await countItems(raw, 't', { tablePrefix })).toBe(1);
    await sleep(1300);
    await session.addItems([message('fresh')]);
    expect(await session.getItems()).toEqual([message('fresh')]);
    expect(await countItems(raw, 't', { tablePrefix })).toBe(1);
    const [ops] = await raw.unsafe(`SELECT count(*)::int AS n FROM "${tablePrefix}operations"`);
    expect(ops?.n).toBe(0);
  });

  /** Waits until a statement on `tablePrefix`'s tables is waiting on a lock. */
  async function untilWaitingOnLock(tablePrefix: string): Promise<void> {
    for (;;) {
      const [row] = await raw.unsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND strpos(query, $1::text) > 0`,
        [`"${tablePrefix}`],
      );
      if ((row?.n ?? 0) > 0) return;
      await sleep(10);
    }
  }

  /**
   * With a 2 s TTL and `OLD` written between `before` and `after`: holds the session row
   * `FOR UPDATE` in a raw transaction across the expiry instant while `operation`, started well
   * before that instant, waits on the lock; then releases it and returns what `operation` gave.
   */
  async function acrossExpiry<T>(
    tablePrefix: string,
    sessionId: string,
    session: { getItems(): Promise<unknown[]> },
    written: { before: number; after: number },
    operation: () => Promise<T>,
  ): Promise<T> {
    let pending: Promise<T> | undefined;
    await raw.begin(async (tx) => {
      await sleep(Math.max(0, written.before + 800 - Date.now()));
      await tx.unsafe(`SELECT 1 FROM "${tablePrefix}sessions" WHERE session_id = $1::text FOR UPDATE`, [sessionId]);
      pending = operation();
      pending.catch(() => {}); // awaited below
      await untilWaitingOnLock(tablePrefix);
      // The operation is waiting on the row lock BEFORE the expiry instant (OLD + 2 s).
      expect(Date.now()).toBeLessThan(written.before + 2000 - 200);
      // Hold the lock until well past the expiry instant; readers are not blocked meanwhile.
      await sleep(Math.max(0, written.after + 2000 + 500 - Date.now()));
      expect(await session.getItems()).toEqual([]);
    });
    return (await pending) as T;
  }

  it('a write that waited on the row lock across the expiry instant starts a fresh history', async () => {
    const tablePrefix = uniqueName('ttllock');
    await using store = new PostgresSessionStore({ url, tablePrefix, ttlSeconds: 2 });
    await store.migrate();
    const session = store.session('w');
    const before = Date.now();
    await session.addItems([message('OLD')]);
    const written = { before, after: Date.now() };
    await acrossExpiry(tablePrefix, 'w', session, written, () => session.addItems([message('NEW')]));
    expect(await session.getItems()).toEqual([message('NEW')]);
    expect(await countItems(raw, 'w', { tablePrefix })).toBe(1); // the write deleted the old row
  });

  it('a pop that waited on the row lock across the expiry instant pops nothing and slides nothing', async () => {
    const tablePrefix = uniqueName('ttlpop');
    await using store = new PostgresSessionStore({ url, tablePrefix, ttlSeconds: 2 });
    await store.migrate();
    const session = store.session('p');
    const expiresAt = async () => {
      const [row] = await raw.unsafe<{ at: Date }[]>(
        `SELECT expires_at AS at FROM "${tablePrefix}sessions" WHERE session_id = 'p'`,
      );
      return row?.at;
    };
    const before = Date.now();
    await session.addItems([message('OLD')]);
    const written = { before, after: Date.now() };
    const expires = await expiresAt();
    expect(await acrossExpiry(tablePrefix, 'p', session, written, () => session.popItem())).toBeUndefined();
    expect(await session.getItems()).toEqual([]);
    expect(await countItems(raw, 'p', { tablePrefix })).toBe(1); // still stored, still dead
    expect(await expiresAt()).toEqual(expires); // the expiry did not slide
    await session.addItems([message('NEW')]);
    expect(await session.getItems()).toEqual([message('NEW')]);
  });

  it('a chunked batch whose transaction outlasts the TTL stays one history', async () => {
    // The first chunk decides expiry; the further chunks must only extend that history, not judge
    // expiry again with a clock that has moved past the expiry the first chunk set.
    const tablePrefix = uniqueName('ttlchunk');
    // 3 s, not 1 s: `kept` must still be live when the batch's first chunk runs. On a loaded
    // machine more than 1 s could pass before it, the batch then started a fresh history, never
    // waited on the row below, and the test hung until its timeout.
    await using store = new PostgresSessionStore({ url, tablePrefix, ttlSeconds: 3 });
    const session = store.session('c');
    await session.addItems([message('kept')]); // seq 0
    const blob = (tag: string) => message(tag, { data: `${tag}:`.padEnd(9_000_000, 'abcd') });
    const items = [blob('a'), blob('b')]; // two chunks: seq 1, then seq 2
    class Release extends Error {}
    let pending: Promise<void> | undefined;
    // An uncommitted row at seq 1 makes the first chunk's insert wait, for longer than the TTL.
    await raw
      .begin(async (tx) => {
        await tx.unsafe(`INSERT INTO "${tablePrefix}items" (session_id, seq, item) VALUES ('c', 1, 'x')`);
        pending = session.addItems(items);
        pending.catch(() => {}); // awaited below
        await untilWaitingOnLock(tablePrefix);
        await sleep(3300);
        throw new Release();
      })
      .catch((error) => {
        if (!(error instanceof Release)) throw error;
      });
    await pending;
    expect(await session.getItems()).toEqual([message('kept'), ...items]);
    expect(await countItems(raw, 'c', { tablePrefix })).toBe(3);
  });

  it('deleteExpired() removes expired sessions with their rows and leaves live ones', async () => {
    const tablePrefix = uniqueName('purge');
    await using short = new PostgresSessionStore({ url, tablePrefix, ttlSeconds: 1 });
    await using forever = new PostgresSessionStore({ url, tablePrefix });
    for (let i = 0; i < 5; i++) await short.session(`gone-${i}`).addItems(numbered('x', 3));
    await forever.session('kept').addItems(numbered('k', 2));
    await sleep(1300);
    expect(await forever.deleteExpired({ batchSize: 2 })).toBe(5);
    const [rows] = await raw.unsafe(
      `SELECT (SELECT count(*) FROM "${tablePrefix}items")::int AS items, (SELECT count(*) FROM "${tablePrefix}sessions")::int AS sessions`,
    );
    expect({ ...rows }).toEqual({ items: 2, sessions: 1 });
    expect(await forever.session('kept').getItems()).toEqual(numbered('k', 2));
    expect(await forever.deleteExpired()).toBe(0);
  });

  it('deleteExpired() racing writes to the expiring sessions: no errors, only fresh histories remain', async () => {
    const tablePrefix = uniqueName('purgerace');
    await using store = new PostgresSessionStore({ url, tablePrefix, ttlSeconds: 1 });
    const ids = Array.from({ length: 8 }, (_, i) => `s${i}`);
    await Promise.all(ids.map((id) => store.session(id).addItems(numbered(`old-${id}`, 3))));
    await sleep(1200);
    await Promise.all([
      store.deleteExpired({ batchSize: 3 }),
      ...ids.map((id) => store.session(id).addItems(numbered(`new-${id}`, 2))),
      store.deleteExpired({ batchSize: 3 }),
    ]);
    for (const id of ids) {
      expect(await store.session(id).getItems()).toEqual(numbered(`new-${id}`, 2));
      expect(await countItems(raw, id, { tablePrefix })).toBe(2);
    }
  });
});

describe('concurrency beyond the contract', () => {
  it('the same operationId sent 10 times at once on a new session applies once', async () => {
    const tablePrefix = uniqueName('idem');
    await using store = new PostgresSessionStore({ url, tablePrefix });
    const args = { operationId: 'op', transaction: { type: 'append_items' as const, items: numbered('t', 3) } };
    await Promise.all(Array.from({ length: 10 }, () => store.session('new').applyHistoryTransaction(args)));
    expect(await store.session('new').getItems()).toEqual(numbered('t', 3));
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, k) =>
        store.session('new').applyHistoryTransaction({
          operationId: 'op',
          transaction: { type: 'append_items', items: [message(`other-${k}`)] },
        }),
      ),
    );
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(SessionConflictError);
    }
  });

  it('clears, adds, pops, compactions and transactions racing on one session: no deadlock, no invisible rows', async () => {
    const tablePrefix = uniqueName('race');
    await using store = new PostgresSessionStore({ url, tablePrefix, clientOptions: { max: 10 } });
    for (let round = 0; round < 25; round++) {
      const s = () => store.session('race');
      await Promise.all([
        s().addItems(numbered(`a${round}`, 3)),
        s().clearSession(),
        s().popItem(),
        s().addItems(numbered(`b${round}`, 2)),
        s().replaceHistoryWithCompaction([message(`c${round}`)]),
        s().popItem(),
        s().applyHistoryTransaction({
          operationId: `t${round}`,
          transaction: { type: 'append_items', items: [message(`t${round}`)] },
        }),
        s().clearSession(),
        s().addItems(numbered(`d${round}`, 2)),
        s().popItem(),
      ]);
      const visible = await s().getItems();
      expect(await countItems(raw, 'race', { tablePrefix })).toBe(visible.length);
    }
  });
});

describe('clients and errors', () => {
  it('prepare: false runs no prepared statements (transaction-mode poolers); the default prepares', async () => {
    const tablePrefix = uniqueName('prep');
    for (const prepare of [false, true]) {
      // One connection, so that pg_prepared_statements (per connection) sees everything.
      const store = new PostgresSessionStore({ url, prepare, tablePrefix, clientOptions: { max: 1 } });
      try {
        const session = store.session(`p-${prepare}`);
        await session.addItems(numbered('p', 3));
        await session.getItems(2);
        await session.getItems();
        await session.popItem();
        await session.applyHistoryTransaction({
          operationId: 'o',
          transaction: { type: 'append_items', items: [message('t')] },
        });
        await session.replaceHistoryWithCompaction([message('c')]);
        await session.clearSession();
        const [row] = await store.client.unsafe<{ n: number }[]>(
          'SELECT count(*)::int AS n FROM pg_prepared_statements',
        );
        if (prepare) expect(row?.n).toBeGreaterThan(5);
        else expect(row?.n).toBe(0);
      } finally {
        await store.close();
      }
    }
  });

  it('a store built from a URL ends its client on close; a caller client is never ended', async () => {
    const tablePrefix = uniqueName('own');
    const owned = new PostgresSessionStore({ url, tablePrefix });
    await owned.session('o').addItems([message('x')]);
    await owned.close();
    await expect(owned.client.unsafe('SELECT 1')).rejects.toMatchObject({ code: 'CONNECTION_ENDED' });

    const client = rawClient(url);
    const borrowed = new PostgresSessionStore({ sql: client, tablePrefix });
    expect(borrowed.client).toBe(client);
    await borrowed.session('o').addItems([message('y')]);
    await borrowed.close();
    expect(await client.unsafe('SELECT 1 AS one')).toHaveLength(1);
    const standalone = new PostgresSession({ sessionId: 'o', sql: client, tablePrefix });
    expect(await standalone.getItems()).toEqual([message('x'), message('y')]);
    await client.end();
    await expect(standalone.getItems()).rejects.toBeInstanceOf(SessionClosedError);
  });

  it('bad options are refused', () => {
    const client = rawClient(url);
    expect(() => new PostgresSessionStore({ url, client })).toThrow(SessionValidationError);
    expect(() => new PostgresSessionStore({ client, sql: rawClient(url) })).toThrow(SessionValidationError);
    expect(() => new PostgresSessionStore({ url: '' })).toThrow(SessionValidationError);
    expect(() => new PostgresSessionStore({ client: {} as never })).toThrow(SessionValidationError);
    expect(() => new PostgresSessionStore({ url, prepare: 'no' as never })).toThrow(SessionValidationError);
    expect(() => new PostgresSessionStore({ url, ttlSeconds: 1e12 })).toThrow(SessionValidationError);
    expect(() => new PostgresSession({ sessionId: 'x' } as never)).toThrow(SessionValidationError);
    return client.end();
  });

  it('an unreachable server is a SessionConnectionError with the driver error as cause, without the password', async () => {
    const port = await freePort();
    await using store = new PostgresSessionStore({
      url: `postgres://someone:hunter2-secret@127.0.0.1:${port}/db`,
      clientOptions: { connect_timeout: 2 },
    });
    const error = await store
      .session('x')
      .getItems()
      .catch((e) => e);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(error.message).not.toContain('hunter2');
    expect(error.operation).toBe('getItems');
  });

  it('a database error is a SessionStorageError with the PostgresError as cause', async () => {
    const tablePrefix = uniqueName('broken');
    await using store = new PostgresSessionStore({ url, tablePrefix });
    await store.session('x').addItems([message('x')]);
    await raw.unsafe(`DROP TABLE "${tablePrefix}items"`);
    const error = await store
      .session('x')
      .getItems()
      .catch((e) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect(error).not.toBeInstanceOf(SessionConnectionError);
    expect(error.cause).toBeInstanceOf(postgres.PostgresError);
    expect(error.cause.code).toBe('42P01');
  });
});
