import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { SqliteSessionStore } from '../src/index.js';
import { fileUrl, rawClient, tempDir, uniquePrefix } from './helpers.js';
import { allResults, ensureBuilt, runWorkers } from './workers.js';

const tmp = tempDir('multiprocess');

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => {
  tmp.remove();
});

describe('several processes on one file', () => {
  it.each([
    ['with the default busy timeout', undefined],
    ['with busyTimeoutMs: 0 (every contention surfaces as SQLITE_BUSY and is retried)', 0],
  ])(
    '6 processes x 2 writers append concurrently %s: nothing lost or duplicated, every batch contiguous, writers in order',
    async (_label, busyTimeoutMs) => {
      const url = fileUrl(join(tmp.dir, `append-${busyTimeoutMs ?? 'default'}.db`));
      const prefix = uniquePrefix('mp');
      const sessionId = 'shared';
      const processes = 6;
      const lanes = 2;
      const batches = 30;
      const workers = await runWorkers(
        Array.from({ length: processes }, (_, worker) => ({
          kind: 'append' as const,
          url,
          prefix,
          sessionId,
          worker,
          lanes,
          batches,
          migrateFirst: true,
          busyTimeoutMs,
        })),
      );
      await allResults(workers);

      await using store = new SqliteSessionStore({ url, tablePrefix: prefix });
      const items = (await store.session(sessionId).getItems()) as {
        content: string;
        w: number;
        b: number;
        i: number;
        size: number;
      }[];
      const writers = processes * lanes;
      let expected = 0;
      for (let w = 0; w < writers; w++) for (let b = 0; b < batches; b++) expected += 1 + ((w + b) % 5);
      expect(items).toHaveLength(expected);
      expect(new Set(items.map((item) => item.content)).size).toBe(expected);
      const lastBatch = new Map<number, number>();
      for (let k = 0; k < items.length; ) {
        const { w, b, size } = items[k]!;
        for (let i = 0; i < size; i++) {
          expect(items[k + i], `batch w${w}b${b} is contiguous`).toMatchObject({ w, b, i });
        }
        expect(b, `writer ${w}'s batches are in order`).toBe((lastBatch.get(w) ?? -1) + 1);
        lastBatch.set(w, b);
        k += size;
      }
      // The sequence numbers themselves are 0..n-1: reserved atomically, never reused or skipped.
      const raw = rawClient(url);
      onTestFinished(() => raw.close());
      const seqs = await raw.execute({
        sql: `SELECT seq FROM "${prefix}items" WHERE session_id = ? ORDER BY seq`,
        args: [sessionId],
      });
      expect(seqs.rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: expected }, (_, i) => i));
      const session = await raw.execute({
        sql: `SELECT next_seq FROM "${prefix}sessions" WHERE session_id = ?`,
        args: [sessionId],
      });
      expect(Number(session.rows[0]!.next_seq)).toBe(expected);
    },
  );

  it('5 processes pop one session until empty: every item popped exactly once', async () => {
    const url = fileUrl(join(tmp.dir, 'pop.db'));
    const prefix = uniquePrefix('pop');
    const total = 300;
    {
      await using store = new SqliteSessionStore({ url, tablePrefix: prefix });
      await store
        .session('pile')
        .addItems(Array.from({ length: total }, (_, i) => ({ type: 'message', role: 'user', content: `item-${i}` })));
    }
    const workers = await runWorkers(
      Array.from({ length: 5 }, () => ({ kind: 'pop' as const, url, prefix, sessionId: 'pile', migrateFirst: true })),
    );
    const popped = ((await allResults(workers)) as string[][]).flat();
    expect(popped).toHaveLength(total);
    expect(new Set(popped).size).toBe(total);
    await using store = new SqliteSessionStore({ url, tablePrefix: prefix });
    expect(await store.session('pile').getItems()).toEqual([]);
  });

  it('schema creation racing from 8 fresh processes on a new file succeeds once, in WAL mode', async () => {
    const url = fileUrl(join(tmp.dir, 'race.db'));
    const prefix = uniquePrefix('race');
    const workers = await runWorkers(
      Array.from({ length: 8 }, (_, worker) => ({
        kind: 'first-use' as const,
        url,
        prefix,
        sessionId: 'race',
        worker,
        // Half call migrate() at the start signal, half create the schema lazily on first write.
        migrateFirst: false,
        migrateOnGo: worker % 2 === 0,
      })),
    );
    await allResults(workers);
    const check = rawClient(url);
    try {
      const objects = await check.execute({
        sql: `SELECT type, name FROM sqlite_master WHERE name LIKE ? ESCAPE '\\' ORDER BY name`,
        args: [`${prefix.replaceAll('_', '\\_')}%`],
      });
      expect(objects.rows.map((row) => `${row.type} ${row.name}`)).toEqual([
        `table ${prefix}items`,
        `table ${prefix}operations`,
        `table ${prefix}schema`,
        `table ${prefix}sessions`,
        `trigger ${prefix}sessions_cascade`,
        `index ${prefix}sessions_expires_at`,
        `index ${prefix}sessions_listing`,
      ]);
      const version = await check.execute(`SELECT id, version FROM "${prefix}schema"`);
      expect(version.rows.map((row) => [Number(row.id), Number(row.version)])).toEqual([[1, 2]]);
      const mode = await check.execute('PRAGMA journal_mode');
      expect(String(mode.rows[0]![0]).toLowerCase()).toBe('wal');
    } finally {
      check.close();
    }
    await using store = new SqliteSessionStore({ url, tablePrefix: prefix });
    const contents = (await store.session('race').getItems()).map((item) => item.content).sort();
    expect(contents).toEqual(Array.from({ length: 8 }, (_, w) => `from ${w}`).sort());
  });

  it('a file written by an earlier process (closed, or killed without close) keeps its history', async () => {
    const url = fileUrl(join(tmp.dir, 'reopen.db'));
    const prefix = uniquePrefix('reopen');
    const message = (content: string) => ({ type: 'message', role: 'user', content });
    const histories = {
      closed: [message('one'), message('two 😀'), { type: 'function_call', callId: 'c1', name: 'f', arguments: '{}' }],
    };
    await allResults(await runWorkers([{ kind: 'write-history', url, prefix, histories }]));

    // A second earlier process is killed (SIGKILL) after its writes returned, store still open.
    const crashed = { crashed: [message('durable 1'), message('durable 2')] };
    const [victim] = await runWorkers([
      { kind: 'write-history', url, prefix, histories: crashed, exitWithoutClose: true },
    ]);
    await victim!.result;
    victim!.child.kill('SIGKILL');
    await victim!.exited;

    await using store = new SqliteSessionStore({ url, tablePrefix: prefix });
    expect(await store.session('closed').getItems()).toEqual(histories.closed);
    expect(await store.session('crashed').getItems()).toEqual(crashed.crashed);
    await store.session('closed').addItems([message('three')]);
    expect(await store.session('closed').getItems(2)).toEqual([histories.closed[2], message('three')]);
  });
});
