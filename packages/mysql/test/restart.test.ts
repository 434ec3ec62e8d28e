import { SessionConnectionError } from '@sessions/core';
import { type RunningService, startPrivateService } from '@sessions/test-services';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MySQLSessionStore } from '../src/index.js';
import { countItems, rawPool, uniqueName } from './helpers.js';

// A MariaDB of our own, killed (SIGKILL, a crash) and started again while writers, readers and
// transactions run against it.
let service: RunningService & { restart(): Promise<void>; kill?(): Promise<void> };
beforeAll(async () => {
  service = await startPrivateService('mysql');
}, 120_000);
afterAll(() => service?.stop());

const BATCH = 4;
/** Paces the workload (a few hundred operations a second), only to bound the data to verify. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 3));
const batch = (w: number, b: number) =>
  Array.from({ length: BATCH }, (_, i) => ({ type: 'message', role: 'user', content: `w${w}b${b}i${i}`, w, b, i }));

it('a crash and restart during a workload: typed errors, no torn batch, nothing acknowledged lost, the store recovers', async () => {
  const tablePrefix = uniqueName('restart');
  // The deadline is well past a restart on this shared machine, so that every failure here is the
  // connection error itself (deadlines are faults.test.ts's subject).
  await using store = new MySQLSessionStore({
    url: service.url,
    tablePrefix,
    timeoutMs: 30_000,
    clientOptions: { connectionLimit: 6 },
  });
  await store.setup();
  // The test server trades durability for speed (log flushed once a second); these sessions ask
  // for a flush at every commit, as production runs.
  const raw = rawPool(service.url, { connectionLimit: 1 });
  await raw.query('SET GLOBAL innodb_flush_log_at_trx_commit = 1');
  await raw.end();
  const errors: unknown[] = [];
  const acknowledged = new Set<string>();
  const failedTx: { operationId: string; items: ReturnType<typeof batch> }[] = [];
  let stop = false;
  let opsDuring = 0;
  const writer = async (w: number) => {
    for (let b = 0; !stop && b < 5_000; b++) {
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
    for (let k = 0; !stop && k < 5_000; k++) {
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
    for (let r = 0; !stop && r < 5_000; r++) {
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
  const started = performance.now();
  await (service.kill ?? service.restart)();
  const restartMs = performance.now() - started;
  // The server is back: the same store works again (a pooled connection to the old process fails
  // once when next used, so allow one failure per pooled connection).
  const after = batch(9, 0);
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      await store
        .session('after')
        .applyHistoryTransaction({ operationId: 'after', transaction: { type: 'append_items', items: after } });
      expect(await store.session('after').getItems()).toEqual(after);
      break;
    } catch (error) {
      expect(error).toBeInstanceOf(SessionConnectionError);
      expect(attempts).toBeLessThanOrEqual(8);
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
  const check = rawPool(service.url, { connectionLimit: 1 });
  expect(await countItems(check, 'shared', tablePrefix)).toBe(stored.length);
  await check.end();
  expect(await store.getSessionInfo('shared')).toMatchObject({ itemCount: stored.length });

  // Retrying failed transactions with their operationId applies each exactly once.
  for (const { operationId, items } of failedTx) {
    await store.session('tx').applyHistoryTransaction({ operationId, transaction: { type: 'append_items', items } });
  }
  const keys = (await store.session('tx').getItems())
    .filter((_, k) => k % BATCH === 0)
    .map((item) => (item as { b: number }).b);
  expect(new Set(keys).size).toBe(keys.length);
  console.log(
    `[mysql restart] kill + start took ${restartMs.toFixed(0)} ms; ${opsDuring} writes, ${errors.length} failed with SessionConnectionError (causes: ${[...new Set(errors.map((e) => String((e as { cause?: { code?: unknown } }).cause?.code)))].join(', ')}), ${acknowledged.size} acknowledged batches, ${failedTx.length} transactions retried; recovered after ${attempts} attempt(s)`,
  );
}, 120_000);
