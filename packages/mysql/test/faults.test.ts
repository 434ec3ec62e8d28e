import {
  SessionAuthenticationError,
  SessionConnectionError,
  SessionStorageError,
  SessionTimeoutError,
} from '@sessions/core';
import { type FaultProxy, freePort, startFaultProxyFor, timed, untilItWorks } from '@sessions/test-services';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { MySQLSessionStore } from '../src/index.js';
import { dropTables, rawPool, uniqueName } from './helpers.js';

// The shared server behind a proxy that misbehaves on demand. Every store here has a short
// deadline; the bound asserted is the deadline plus one second (the machine is shared).
const url = inject('serviceUrls').mysql!;
const TIMEOUT_MS = 1_000;
const BOUND_MS = TIMEOUT_MS + 1_000;
const raw = rawPool(url);
const prefixes: string[] = [];
const fresh = (tag: string) => {
  const prefix = uniqueName(tag);
  prefixes.push(prefix);
  return prefix;
};

const message = (content: string) => ({ type: 'message', role: 'user', content });
const causeCode = (error: unknown) => (error as { cause?: { code?: string } } | undefined)?.cause?.code;

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxyFor(url, 3306);
});
afterAll(async () => {
  await proxy?.close();
  for (const prefix of prefixes) await dropTables(raw, prefix);
  await raw.end();
});
afterEach(() => {
  proxy.set('pass');
});

describe('a server that accepts connections and never answers (blackhole)', () => {
  it('getItems, addItems and setup end typed within the deadline; the store heals', async () => {
    proxy.set('blackhole');
    await using store = new MySQLSessionStore({
      url: proxy.via(url),
      tablePrefix: fresh('blackhole'),
      timeoutMs: TIMEOUT_MS,
    });
    const session = store.session('s');
    const [read, write, setup] = await Promise.all([
      timed(() => session.getItems()),
      timed(() => session.addItems([message('swallowed')])),
      timed(() => store.setup()),
    ]);
    // The pool's connectTimeout is the deadline too: whichever fires first ends the call, as core's
    // SessionTimeoutError or as the driver's connect timeout (a SessionConnectionError, ETIMEDOUT).
    for (const [call, operation] of [
      [read, 'getItems'],
      [write, 'addItems'],
      [setup, 'setup'],
    ] as const) {
      expect(call.error).toBeInstanceOf(SessionConnectionError);
      expect(call.error).toMatchObject({ operation, retryable: true });
      if (!(call.error instanceof SessionTimeoutError)) expect(causeCode(call.error)).toBe('ETIMEDOUT');
      expect(call.ms).toBeLessThan(BOUND_MS);
    }
    proxy.set('pass');
    const healing = await timed(() => untilItWorks(() => session.getItems()));
    expect(healing.error).toBeUndefined();
    await session.addItems([message('after')]);
    expect(await session.getItems()).toEqual([message('after')]);
    console.log(
      `[mysql faults] blackhole: getItems ${read.ms.toFixed(0)} ms, addItems ${write.ms.toFixed(0)} ms, setup ${setup.ms.toFixed(0)} ms (timeoutMs ${TIMEOUT_MS}); healed in ${healing.ms.toFixed(0)} ms`,
    );
  });
});

describe('a server that stops answering mid-use (stall)', () => {
  it('calls end within the deadline, the stalled connections are dropped, and the same store works after pass', async () => {
    await using store = new MySQLSessionStore({
      url: proxy.via(url),
      tablePrefix: fresh('stall'),
      timeoutMs: TIMEOUT_MS,
    });
    const session = store.session('s');
    await session.addItems([message('before')]);
    proxy.set('stall');
    const read = await timed(() => session.getItems());
    expect(read.error).toBeInstanceOf(SessionTimeoutError);
    expect(read.ms).toBeLessThan(BOUND_MS);
    const transaction = {
      operationId: 'op-1',
      transaction: { type: 'append_items' as const, items: [message('once')] },
    };
    const tx = await timed(() => session.applyHistoryTransaction(transaction));
    expect(tx.error).toBeInstanceOf(SessionTimeoutError);
    expect(tx.error).toMatchObject({ mayHaveApplied: true, operation: 'applyHistoryTransaction' });
    expect(tx.ms).toBeLessThan(BOUND_MS);

    proxy.set('pass');
    await untilItWorks(() => session.getItems());
    // Retried with its operationId, the transaction applies exactly once whatever the stalled attempt did.
    await untilItWorks(() => session.applyHistoryTransaction(transaction));
    const items = await session.getItems();
    expect(items).toEqual([message('before'), message('once')]);
  });
});

describe('a connection cut while a call is in flight (cut)', () => {
  it('the call fails with SessionConnectionError naming the cause, fast; the same store works after pass', async () => {
    await using store = new MySQLSessionStore({ url: proxy.via(url), tablePrefix: fresh('cut'), timeoutMs: 5_000 });
    const session = store.session('s');
    await session.addItems([message('kept')]);
    proxy.set('cut');
    const cut = await timed(() => session.getItems());
    expect(cut.error).toBeInstanceOf(SessionConnectionError);
    expect(cut.ms).toBeLessThan(BOUND_MS);
    proxy.set('pass');
    expect(await untilItWorks(() => session.getItems())).toBeLessThanOrEqual(3);
    expect(await session.getItems()).toEqual([message('kept')]);
  });
});

describe('a server that is down', () => {
  it('calls fail with SessionConnectionError showing ECONNREFUSED, fast', async () => {
    const port = await freePort();
    await using store = new MySQLSessionStore({ url: `mysql://app:pw@127.0.0.1:${port}/db`, timeoutMs: 5_000 });
    const call = await timed(() => store.session('s').getItems());
    expect(call.error).toBeInstanceOf(SessionConnectionError);
    expect(causeCode(call.error)).toBe('ECONNREFUSED');
    expect(call.ms).toBeLessThan(BOUND_MS);
  });
});

describe('refused credentials', () => {
  it('a wrong password is SessionAuthenticationError (1045), not retryable, the password masked', async () => {
    const wrong = new URL(url);
    wrong.password = 'Wr0ng-S3CRET';
    await using store = new MySQLSessionStore({ url: wrong.toString() });
    const error = await store
      .session('s')
      .getItems()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionAuthenticationError);
    expect(error).toMatchObject({ retryable: false, operation: 'getItems' });
    expect((error as { cause?: { errno?: number } }).cause?.errno).toBe(1045);
    expect(String((error as Error).message)).not.toContain('Wr0ng-S3CRET');
    expect(error).toBeInstanceOf(SessionStorageError);
  });
});
