import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Client, createClient, type InArgs, type InStatement } from '@libsql/client';
import {
  type AgentInputItem,
  SessionClosedError,
  SessionConflictError,
  SessionConnectionError,
  SessionError,
  SessionItemTooLargeError,
  SessionStorageError,
  SessionValidationError,
} from '@sessions/core';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { SqliteSession, SqliteSessionStore } from '../src/index.js';
import { collectGarbage, countRows, fileUrl, rawClient, tempDir, uniquePrefix } from './helpers.js';

const tmp = tempDir('unit');
afterAll(() => tmp.remove());

let files = 0;
/** A fresh database file for one test: its path and `file:` URL. */
function freshFile(): { path: string; url: string } {
  const path = join(tmp.dir, `db-${files++}.db`);
  return { path, url: fileUrl(path) };
}

const message = (content: string, extra: Record<string, unknown> = {}): AgentInputItem => ({
  type: 'message',
  role: 'user',
  content,
  ...extra,
});
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Closes `client` when the test ends. */
function track<T extends { close(): unknown }>(resource: T): T {
  onTestFinished(async () => {
    await resource.close();
  });
  return resource;
}

interface Statement {
  sql: string;
  args: InArgs;
}

interface Call {
  method: 'execute' | 'batch' | 'executeMultiple';
  statements: Statement[];
}

function normalise(statement: InStatement | [string, InArgs?]): Statement {
  if (typeof statement === 'string') return { sql: statement, args: [] };
  if (Array.isArray(statement)) return { sql: statement[0], args: statement[1] ?? [] };
  return { sql: statement.sql, args: statement.args ?? [] };
}

/** The real client, with every call it receives recorded (instrumentation, not a mock). */
function recording(client: Client): { client: Client; calls: Call[] } {
  const calls: Call[] = [];
  const proxy = new Proxy(client, {
    get(target, property) {
      const value = (target as unknown as Record<PropertyKey, unknown>)[property];
      if (property === 'execute' || property === 'batch' || property === 'executeMultiple') {
        return (...args: unknown[]) => {
          const first = args[0];
          const statements =
            property === 'batch'
              ? (first as InStatement[]).map(normalise)
              : [
                  typeof first === 'string'
                    ? { sql: first, args: (args[1] as InArgs) ?? [] }
                    : normalise(first as InStatement),
                ];
          calls.push({ method: property, statements });
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { client: proxy, calls };
}

describe(':memory:', () => {
  it('an owned :memory: store keeps one database across operations and concurrent calls', async () => {
    await using store = new SqliteSessionStore({ url: ':memory:' });
    const session = store.session('m');
    await Promise.all(Array.from({ length: 30 }, (_, i) => session.addItems([message(`m${i}`)])));
    await store.migrate();
    expect(await session.getItems()).toHaveLength(30);
    expect(await store.session('m').popItem()).toBeDefined();
    expect(await session.getItems()).toHaveLength(29);
  });

  it('two :memory: stores are two databases; a shared client is one', async () => {
    await using one = new SqliteSessionStore({ url: ':memory:' });
    await using two = new SqliteSessionStore({ url: ':memory:' });
    await one.session('x').addItems([message('only in one')]);
    expect(await two.session('x').getItems()).toEqual([]);
    const shared = track(createClient({ url: ':memory:' }));
    await using a = new SqliteSessionStore({ client: shared });
    await using b = new SqliteSessionStore({ client: shared });
    await a.session('x').addItems([message('shared')]);
    expect(await b.session('x').getItems()).toEqual([message('shared')]);
  });
});

describe('client ownership and laziness', () => {
  it('building a store or a session does no I/O: the file appears on first use', async () => {
    const { path, url } = freshFile();
    await using store = new SqliteSessionStore({ url });
    const session = store.session('lazy');
    expect(existsSync(path)).toBe(false);
    await session.getItems();
    expect(existsSync(path)).toBe(true);
  });

  it('a file that cannot be opened fails the first operation with a typed error, not the constructor', async () => {
    await using store = new SqliteSessionStore({ url: fileUrl(join(tmp.dir, 'missing-dir', 'x.db')) });
    const session = store.session('s');
    await expect(session.addItems([message('x')])).rejects.toBeInstanceOf(SessionStorageError);
    await expect(store.migrate()).rejects.toBeInstanceOf(SessionStorageError);
  });

  it("close() leaves the caller's client open, and sessions built on it never close it", async () => {
    const { url } = freshFile();
    const client = track(createClient({ url }));
    const store = new SqliteSessionStore({ client });
    await store.session('s').addItems([message('x')]);
    await store.close();
    expect(client.closed).toBe(false);
    const standalone = new SqliteSession({ sessionId: 's', client });
    expect(await standalone.getItems()).toEqual([message('x')]);
    expect(client.closed).toBe(false);
  });

  it("a caller's client closed under a session fails with SessionClosedError", async () => {
    const client = createClient({ url: ':memory:' });
    const session = new SqliteSession({ sessionId: 's', client });
    await session.addItems([message('x')]);
    client.close();
    await expect(session.getItems()).rejects.toBeInstanceOf(SessionClosedError);
    await expect(session.addItems([message('y')])).rejects.toBeInstanceOf(SessionClosedError);
  });

  it('a store reopened on a file written by an earlier store reads the same history', async () => {
    const { url } = freshFile();
    const history = [message('a'), message('b 😀'), message('c', { providerData: { $x: 'a.b', nul: '\u0000' } })];
    {
      await using first = new SqliteSessionStore({ url });
      await first.session('kept').addItems(history);
    }
    await using second = new SqliteSessionStore({ url });
    expect(await second.session('kept').getItems()).toEqual(history);
  });
});

describe('options', () => {
  it('refuses bad options before any I/O', () => {
    const client = track(createClient({ url: ':memory:' }));
    const bad: unknown[] = [
      undefined,
      null,
      {},
      { url: '' },
      { url: 'postgres://localhost/x' },
      { url: 'conversations.db' },
      { url: ':memory:', tablePrefix: 'bad-prefix' },
      { url: ':memory:', tablePrefix: 'x"; DROP TABLE y; --' },
      { url: ':memory:', tablePrefix: '' },
      { url: ':memory:', busyTimeoutMs: -1 },
      { url: ':memory:', ttlSeconds: 0 },
      { url: ':memory:', client },
      { client: {} },
    ];
    for (const options of bad) {
      expect(() => new SqliteSessionStore(options as never), JSON.stringify(options)).toThrow(SessionValidationError);
    }
    expect(() => new SqliteSession({ sessionId: 's', client: {} as never })).toThrow(SessionValidationError);
    expect(() => new SqliteSession({ sessionId: 's', client, tablePrefix: 'a b' })).toThrow(SessionValidationError);
  });

  it('table prefixes are separate namespaces on one database', async () => {
    const { url } = freshFile();
    await using a = new SqliteSessionStore({ url, tablePrefix: 'team_a_' });
    await using b = new SqliteSessionStore({ url, tablePrefix: 'team_b_' });
    await a.session('same-id').addItems([message('a')]);
    await b.session('same-id').addItems([message('b')]);
    expect(await a.session('same-id').getItems()).toEqual([message('a')]);
    expect(await b.session('same-id').getItems()).toEqual([message('b')]);
  });
});

describe('schema', () => {
  it('creates the documented tables with schema version 2, idempotently', async () => {
    const { url } = freshFile();
    const prefix = uniquePrefix('schema');
    await using store = new SqliteSessionStore({ url, tablePrefix: prefix });
    await store.migrate();
    await store.migrate();
    await using again = new SqliteSessionStore({ url, tablePrefix: prefix });
    await again.migrate();
    const raw = track(rawClient(url));
    const objects = await raw.execute({
      sql: 'SELECT type, name FROM sqlite_master WHERE tbl_name LIKE ? ORDER BY name',
      args: [`${prefix}%`],
    });
    expect(objects.rows.map((row) => `${row.type} ${row.name}`).sort()).toEqual([
      `index sqlite_autoindex_${prefix}items_1`,
      `index ${prefix}sessions_expires_at`,
      `index ${prefix}sessions_listing`,
      `table ${prefix}items`,
      `table ${prefix}operations`,
      `table ${prefix}schema`,
      `table ${prefix}sessions`,
      `trigger ${prefix}sessions_cascade`,
    ]);
    const version = await raw.execute(`SELECT version FROM "${prefix}schema"`);
    expect(version.rows.map((row) => Number(row.version))).toEqual([2]);
    expect(String((await raw.execute('PRAGMA journal_mode')).rows[0]![0]).toLowerCase()).toBe('wal');
  });

  it('refuses a database whose schema was written by a newer release', async () => {
    const { url } = freshFile();
    const prefix = uniquePrefix('newer');
    {
      await using store = new SqliteSessionStore({ url, tablePrefix: prefix });
      await store.migrate();
    }
    const raw = track(rawClient(url));
    await raw.execute(`UPDATE "${prefix}schema" SET version = 99`);
    await using store = new SqliteSessionStore({ url, tablePrefix: prefix });
    const error = await store.migrate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStorageError);
    expect((error as Error).message).toMatch(/schema version 99/);
    await expect(store.session('s').getItems()).rejects.toBeInstanceOf(SessionStorageError);
  });

  it('a standalone session creates the schema once per client, then every operation is one round trip', async () => {
    const { client, calls } = recording(track(createClient({ url: ':memory:' })));
    const one = new SqliteSession({ sessionId: 'one', client });
    const two = new SqliteSession({ sessionId: 'two', client });
    expect(calls).toHaveLength(0);
    await Promise.all([one.getItems(), two.getItems()]);
    expect(calls.map((c) => c.method)).toEqual(['batch', 'execute', 'execute']);
    const count = async (work: () => Promise<unknown>) => {
      calls.length = 0;
      await work();
      return calls.map((c) => c.method).join(',');
    };
    expect(await count(() => one.addItems([message('a'), message('b'), message('c')]))).toBe('batch');
    expect(await count(() => one.getItems(2))).toBe('execute');
    expect(await count(() => one.getItems())).toBe('execute');
    expect(await count(() => one.popItem())).toBe('batch');
    expect(
      await count(() =>
        one.applyHistoryTransaction({
          operationId: 'op',
          transaction: { type: 'replace_suffix', expectedSuffix: [message('b')], replacement: [message('B')] },
        }),
      ),
    ).toBe('batch');
    expect(await count(() => one.replaceHistoryWithCompaction([message('summary')]))).toBe('batch');
    expect(await count(() => one.clearSession())).toBe('batch');
    // 1000 items in one addItems: still one batch (several INSERT statements inside it).
    expect(await count(() => one.addItems(Array.from({ length: 1000 }, (_, i) => message(`n${i}`))))).toBe('batch');
    expect(await one.getItems(3)).toEqual([message('n997'), message('n998'), message('n999')]);
  });

  it('reads of the newest items and pops go through the primary key index (cost independent of history length)', async () => {
    const { client, calls } = recording(track(createClient({ url: ':memory:' })));
    const session = new SqliteSession({ sessionId: 'plan', client });
    await session.addItems([message('x')]);
    const explain = async (statement: Statement) => {
      const plan = await client.execute({ sql: `EXPLAIN QUERY PLAN ${statement.sql}`, args: statement.args });
      return plan.rows.map((row) => String(row.detail)).join('\n');
    };
    calls.length = 0;
    await session.getItems(5);
    const read = await explain(calls[0]!.statements[0]!);
    expect(read).toMatch(/SEARCH .*items USING INDEX sqlite_autoindex_agents_items_1 \(session_id=\?\)/);
    expect(read).not.toMatch(/TEMP B-TREE|SCAN/);
    calls.length = 0;
    await session.popItem();
    const pop = calls[0]!.statements.find((s) => s.sql.includes('RETURNING'))!;
    const popPlan = await explain(pop);
    expect(popPlan).toMatch(/SEARCH .*items USING INDEX sqlite_autoindex_agents_items_1 \(session_id=\? AND seq=\?\)/);
    expect(popPlan).not.toMatch(/TEMP B-TREE|SCAN/);
  });
});

describe('SQLITE_BUSY', () => {
  /**
   * Holds the write lock from another client, releasing it after `ms` (asynchronously). Returns
   * the release wrapped in a function: an async function returning a bare promise would be
   * awaited through, i.e. only after the lock was already gone.
   */
  async function holdWriteLock(url: string, ms: number): Promise<() => Promise<void>> {
    const holder = createClient({ url });
    const tx = await holder.transaction('write');
    await tx.execute('SELECT 1');
    const released = sleep(ms).then(async () => {
      await tx.commit();
      holder.close();
    });
    return () => released;
  }

  for (const kind of ['owned', 'caller'] as const) {
    it(`writes wait for a lock held elsewhere and then land exactly once (${kind} client, busy timeout 0)`, async () => {
      const { url } = freshFile();
      const prefix = uniquePrefix('busy');
      if (kind === 'caller') {
        // The store never reconnects a caller's client: its connection that saw SQLITE_BUSY
        // recovers only once garbage is collected (libsql-client-ts#352, see collectGarbage).
        const collector = setInterval(collectGarbage, 50);
        onTestFinished(() => clearInterval(collector));
      }
      await using store =
        kind === 'owned'
          ? new SqliteSessionStore({ url, tablePrefix: prefix, busyTimeoutMs: 0 })
          : new SqliteSessionStore({ client: track(createClient({ url })), tablePrefix: prefix });
      const session = store.session('busy');
      await store.migrate();
      await session.addItems([message('before')]);

      // While another connection holds the write lock, every primitive hits SQLITE_BUSY at once
      // (busy timeout 0), retries, and succeeds when the lock goes.
      let released = await holdWriteLock(url, 150);
      await session.addItems([message('one'), message('two')]);
      await released();
      released = await holdWriteLock(url, 100);
      expect(await session.popItem()).toEqual(message('two'));
      await released();
      released = await holdWriteLock(url, 100);
      await (session as SqliteSession).applyHistoryTransaction({
        operationId: 'op-busy',
        transaction: { type: 'append_items', items: [message('three')] },
      });
      await released();

      // The client is healthy afterwards, and what it wrote is visible to another connection.
      await session.addItems([message('after')]);
      const raw = track(rawClient(url));
      expect(await countRows(raw, prefix, 'busy')).toBe(4);
      expect(await session.getItems()).toEqual([message('before'), message('one'), message('three'), message('after')]);
      released = await holdWriteLock(url, 100);
      await session.clearSession();
      await released();
      expect(await countRows(raw, prefix, 'busy')).toBe(0);
    });
  }
});

describe('history transactions compare stored text exactly', () => {
  it('suffixes with NUL, astral characters, quotes, backslashes, line separators and 1 MiB strings', async () => {
    await using store = new SqliteSessionStore({ url: ':memory:' });
    const session = store.session('tricky') as SqliteSession;
    const tricky = [
      message('nul \u0000 inside', { k: '\u0000' }),
      message('😀 𝄞 é e\u0301 \u2028\u2029 "quoted" \\back\\slash\\ \'single\''),
      message('x'.repeat(1024 * 1024)),
    ];
    await session.addItems([message('head'), ...tricky]);
    const nearMiss = [tricky[0]!, tricky[1]!, message(`${'x'.repeat(1024 * 1024 - 1)}y`)];
    const error = await session
      .applyHistoryTransaction({
        operationId: 'near-miss',
        transaction: { type: 'replace_suffix', expectedSuffix: nearMiss, replacement: [] },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionConflictError);
    expect((error as SessionConflictError).reason).toBe('suffix_mismatch');
    await session.applyHistoryTransaction({
      operationId: 'exact',
      transaction: { type: 'replace_suffix', expectedSuffix: tricky, replacement: [message('replaced')] },
    });
    expect(await session.getItems()).toEqual([message('head'), message('replaced')]);
  });

  it('a suffix longer than the history, or over an expired history, does not match', async () => {
    await using store = new SqliteSessionStore({ url: ':memory:', ttlSeconds: 0.3 });
    const session = store.session('short') as SqliteSession;
    await session.addItems([message('a')]);
    const tooLong = session.applyHistoryTransaction({
      operationId: 'long',
      transaction: { type: 'replace_suffix', expectedSuffix: [message('a'), message('a')], replacement: [] },
    });
    await expect(tooLong).rejects.toBeInstanceOf(SessionConflictError);
    await sleep(400);
    const expired = session.applyHistoryTransaction({
      operationId: 'expired',
      transaction: { type: 'replace_suffix', expectedSuffix: [message('a')], replacement: [] },
    });
    await expect(expired).rejects.toBeInstanceOf(SessionConflictError);
  });
});

describe('TTL', () => {
  it('popItem is a write: it slides the expiry', async () => {
    await using store = new SqliteSessionStore({ url: ':memory:', ttlSeconds: 1 });
    const session = store.session('slide');
    await session.addItems([message('a'), message('b')]);
    await sleep(600);
    expect(await session.popItem()).toEqual(message('b'));
    await sleep(600);
    // 1.2 s after the add but 0.6 s after the pop: still there.
    expect(await session.getItems()).toEqual([message('a')]);
  });

  it('expired sessions are physically removed: by deleteExpired(), by later writes, and on rewrite', async () => {
    const { url } = freshFile();
    const prefix = uniquePrefix('ttl');
    await using shortLived = new SqliteSessionStore({ url, tablePrefix: prefix, ttlSeconds: 0.2 });
    await using durable = new SqliteSessionStore({ url, tablePrefix: prefix });
    const raw = track(rawClient(url));
    for (const id of ['e1', 'e2', 'e3', 'e4', 'e5']) await shortLived.session(id).addItems([message(id), message(id)]);
    await durable.session('kept').addItems([message('kept')]);
    await sleep(300);
    // A write to an expired session starts a fresh history: the old rows are gone, not hidden.
    await shortLived.session('e1').addItems([message('fresh')]);
    expect(await countRows(raw, prefix, 'e1')).toBe(1);
    expect(await shortLived.session('e1').getItems()).toEqual([message('fresh')]);
    // That write also swept at most two other expired sessions on the way.
    const left = async () => {
      let n = 0;
      for (const id of ['e2', 'e3', 'e4', 'e5']) n += await countRows(raw, prefix, id);
      return n;
    };
    expect(await left()).toBe(4);
    expect(await durable.deleteExpired()).toBe(2);
    expect(await left()).toBe(0);
    expect(await countRows(raw, prefix, 'kept')).toBe(1);
    const operations = await raw.execute(`SELECT count(*) AS n FROM "${prefix}operations"`);
    expect(Number(operations.rows[0]!.n)).toBe(0);
  });
});

describe('limits and errors', () => {
  class SmallSession extends SqliteSession {
    protected override get maxItemBytes() {
      return 1000;
    }
  }

  it('an item over the size limit is refused with SessionItemTooLargeError before anything is written', async () => {
    const client = track(createClient({ url: ':memory:' }));
    const session = new SmallSession({ sessionId: 'big', client });
    await session.addItems([message('fits')]);
    const big = message('é'.repeat(600)); // 1200+ UTF-8 bytes, 600 UTF-16 units
    const error = await session.addItems([message('ok'), big]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionItemTooLargeError);
    expect((error as SessionItemTooLargeError).path).toBe('items[1]');
    await expect(session.replaceHistoryWithCompaction([big])).rejects.toBeInstanceOf(SessionItemTooLargeError);
    await expect(
      session.applyHistoryTransaction({ operationId: 'big', transaction: { type: 'append_items', items: [big] } }),
    ).rejects.toBeInstanceOf(SessionItemTooLargeError);
    expect(await session.getItems()).toEqual([message('fits')]);
  });

  it('an unreachable libSQL server is a SessionConnectionError whose message holds no credentials', async () => {
    const port = await closedPort();
    await using store = new SqliteSessionStore({ url: `http://127.0.0.1:${port}`, authToken: 'sekret-token' });
    const error = await store
      .session('s')
      .getItems()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect((error as Error).message).not.toContain('sekret');
    await using withUserInfo = new SqliteSessionStore({ url: `http://user:pa55word@127.0.0.1:${port}` });
    const second = await withUserInfo
      .session('s')
      .addItems([message('x')])
      .catch((e: unknown) => e);
    expect(second).toBeInstanceOf(SessionError);
    expect((second as Error).message).not.toContain('pa55word');
  });
});

/** A local port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
