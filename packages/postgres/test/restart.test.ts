import { SessionConnectionError } from '@sessions/core';
import { type RunningService, startPrivateService } from '@sessions/test-services';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresSessionStore } from '../src/index.js';
import { rawClient, uniqueName } from './helpers.js';

// A server of our own, restarted while writers, readers and transactions run against it.
let service: RunningService & { restart(): Promise<void> };
beforeAll(async () => {
  service = await startPrivateService('postgres');
}, 120_000);
afterAll(() => service?.stop());

const BATCH = 4;
/** Paces the workload (a few hundred operations a second), only to bound the data to verify. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 3));
const batch = (w: number, b: number) =>
  Array.from({ length: BATCH }, (_, i) => ({ type: 'message', role: 'user', content: `w${w}b${b}i${i}`, w, b, i }));

it('a restart during a workload: in-flight operations fail with SessionConnectionError, nothing is half-written, the store recovers', async () => {
  const tablePrefix = uniqueName('restart');
  // The test server runs with synchronous_commit=off (speed over durability), which may lose
  // acknowledged commits in a crash; these sessions ask for synchronous commits, as production would.
  // A restart on this shared 2-core machine can take seconds: the deadline is set well past it, so
  // that every failure here is the connection error itself (deadlines are faults.test.ts's subject).
  await using store = new PostgresSessionStore({
    url: service.url,
    tablePrefix,
    timeoutMs: 30_000,
    clientOptions: { max: 6, connection: { synchronous_commit: 'on' } },
  });
  await store.migrate();
  const errors: unknown[] = [];
  const acknowledged = new Set<string>(); // batches whose addItems resolved
  const failedTx: { operationId: string; items: ReturnType<typeof batch> }[] = [];
  let stop = false;
  let opsDuring = 0;
  const writer = async (w: number) => {
    for (let b = 0; !stop; b++) {
      try {
        await store.session('shared').addItems(batch(w, b));
        acknowledged.add(`${w}:${b}`);
      } catch (error) {
        errors.push(error);
      }
      opsDuring++;
      await pause();
    }
  };
  const transactor = async () => {
    for (let k = 0; !stop; k++) {
      const operationId = `tx-${k}`;
      const items = batch(100, k);
      try {
        await store
          .session('tx')
          .applyHistoryTransaction({ operationId, transaction: { type: 'append_items', items } });
      } catch (error) {
        errors.push(error);
        failedTx.push({ operationId, items });
      }
      await pause();
    }
  };
  const reader = async () => {
    while (!stop) {
      try {
        const items = await store.session('shared').getItems(BATCH * 3);
        expect(items.length % BATCH).toBe(0);
      } catch (error) {
        errors.push(error);
      }
      await pause();
    }
  };
  const workload = Promise.all([writer(0), writer(1), writer(2), transactor(), reader()]);
  while (opsDuring < 30) await new Promise((resolve) => setTimeout(resolve, 10));
  const restartStarted = performance.now();
  await service.restart();
  const restartMs = performance.now() - restartStarted;
  // The server is back and the same store works again. A pooled connection that was still open
  // to a process of the old server fails once when next used (the native test server is killed,
  // which can leave such processes behind briefly), so allow one failure per pooled connection.
  // The write goes through an operationId, so a lost-but-committed attempt cannot double it.
  const after = batch(9, 0);
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      await store.session('after').applyHistoryTransaction({
        operationId: 'after',
        transaction: { type: 'append_items', items: after },
      });
      expect(await store.session('after').getItems()).toEqual(after);
      break;
    } catch (error) {
      expect(error).toBeInstanceOf(SessionConnectionError);
      expect(attempts).toBeLessThanOrEqual(6);
    }
  }
  stop = true;
  await workload;

  expect(errors.length, 'some operations were in flight when the server went away').toBeGreaterThan(0);
  for (const error of errors) {
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect((error as SessionConnectionError).cause).toBeDefined();
  }

  // Nothing half-written: every stored batch is whole and contiguous; every acknowledged batch is there.
  const stored = await store.session('shared').getItems();
  expect(stored.length % BATCH).toBe(0);
  const present = new Set<string>();
  const torn: number[] = [];
  for (let k = 0; k < stored.length; k += BATCH) {
    const { w, b } = stored[k] as { w: number; b: number };
    for (let i = 0; i < BATCH; i++) {
      const item = stored[k + i] as { w: number; b: number; i: number };
      if (item.w !== w || item.b !== b || item.i !== i) torn.push(k + i);
    }
    present.add(`${w}:${b}`);
  }
  expect(torn, 'positions of items outside a whole, contiguous batch').toEqual([]);
  expect(
    [...acknowledged].filter((key) => !present.has(key)),
    'acknowledged batches missing',
  ).toEqual([]);
  const raw = rawClient(service.url);
  const [row] = await raw.unsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM "${tablePrefix}items" WHERE session_id = 'shared'`,
  );
  await raw.end();
  expect(row?.n).toBe(stored.length);

  // Retrying failed transactions with their operationId applies each exactly once, whether or
  // not the lost attempt had committed.
  for (const { operationId, items } of failedTx) {
    await store.session('tx').applyHistoryTransaction({ operationId, transaction: { type: 'append_items', items } });
  }
  const txItems = await store.session('tx').getItems();
  const keys = txItems.filter((_, k) => k % BATCH === 0).map((item) => (item as { b: number }).b);
  expect(new Set(keys).size).toBe(keys.length);
  console.log(
    `[postgres restart] restart took ${restartMs.toFixed(0)} ms; ${opsDuring} writes, ${errors.length} failed with SessionConnectionError (causes: ${[...new Set(errors.map((e) => String((e as { cause?: { code?: unknown } }).cause?.code)))].join(', ')}), ${acknowledged.size} acknowledged batches, ${failedTx.length} transactions retried; recovered after ${attempts} attempt(s)`,
  );
}, 90_000);
