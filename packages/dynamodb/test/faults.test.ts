import { createConnection, createServer, type Socket } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  SessionAuthenticationError,
  SessionConnectionError,
  type SessionStorageError,
  SessionTimeoutError,
} from '@sessions/core';
import { type FaultProxy, freePort, startFaultProxy, startPrivateService } from '@sessions/test-services';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBSessionStore } from '../src/index.js';
import { clientConfig, dropTable, endpoint, message, rawClient, uniqueTable } from './helpers.js';

// Every call ends in bounded time, and the same store works again once the server answers:
// DynamoDB Local behind the fault proxy of @sessions/test-services.

const TIMEOUT_MS = 1_500;
/** The bound every failing call must meet: its deadline plus a generous second. */
const BOUND_MS = TIMEOUT_MS + 1_000;

const tableName = uniqueTable('faults');
const raw = rawClient();
const target = new URL(endpoint);
const proxies: FaultProxy[] = [];
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(() => new DynamoDBSessionStore({ client: raw, tableName }).setup());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});
afterAll(async () => {
  await dropTable(raw, tableName);
  raw.destroy();
});

async function proxy(): Promise<FaultProxy> {
  const started = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  proxies.push(started);
  return started;
}

type Kind = 'own client' | 'client passed in';
const KINDS: Kind[] = ['own client', 'client passed in'];

/**
 * A store on `url`: with a client it creates (request handler timeouts from `timeoutMs`), or
 * with a client of ours that has no timeout at all (only the abort signal ends its requests).
 */
function storeAt(url: string, kind: Kind, table = tableName): DynamoDBSessionStore {
  if (kind === 'own client') {
    const store = new DynamoDBSessionStore({
      clientConfig: clientConfig({ endpoint: url }),
      tableName: table,
      timeoutMs: TIMEOUT_MS,
    });
    cleanups.push(() => store.close());
    return store;
  }
  const client = rawClient({ endpoint: url });
  cleanups.push(() => client.destroy());
  return new DynamoDBSessionStore({ client, tableName: table, timeoutMs: TIMEOUT_MS });
}

/** Runs `work`, which must fail; returns its error and how long it took. */
async function failing(label: string, work: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await work().then(
    () => expect.fail(`${label} succeeded`),
    (e: unknown) => e,
  );
  const ms = Math.round(performance.now() - started);
  const { name, message: text, cause } = error as Error & { cause?: { name?: string } };
  console.info(`[faults] ${label}: ${name} after ${ms} ms (timeoutMs ${TIMEOUT_MS}): ${text} [cause ${cause?.name}]`);
  return { error, ms };
}

/** Retries `work` (at most 10 attempts, 15 s) until it succeeds; returns the attempts it took. */
async function recovers<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  let last: unknown;
  for (let attempt = 1; attempt <= 10 && Date.now() - started < 15_000; attempt++) {
    try {
      const result = await work();
      console.info(`[faults] ${label}: recovered at attempt ${attempt}, ${Date.now() - started} ms`);
      return result;
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  throw new Error(`${label} did not recover: ${(last as Error)?.message}`);
}

/** Sockets the client's HTTP agent holds for requests in flight, whatever their origin. */
function socketsInUse(client: DynamoDBClient): number {
  const handler = client.config.requestHandler as { config?: { httpAgent?: { sockets?: object } } };
  const sockets = (handler.config?.httpAgent?.sockets ?? {}) as Record<string, unknown[]>;
  return Object.values(sockets).reduce((sum, list) => sum + list.length, 0);
}

/** The abandoned requests were aborted: their sockets close (an event later), none is left waiting. */
async function expectNoSocketWaiting(client: DynamoDBClient): Promise<void> {
  await vi.waitFor(() => expect(socketsInUse(client)).toBe(0), { timeout: 500, interval: 20 });
}

function expectTimeout(result: { error: unknown; ms: number }, operation: string, mayHaveApplied: boolean): void {
  expect(result.error).toBeInstanceOf(SessionTimeoutError);
  expect(result.error).toMatchObject({ code: 'TIMEOUT', retryable: true, operation, mayHaveApplied });
  expect(result.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  expect(result.ms).toBeLessThan(BOUND_MS);
}

describe('blackhole: a fresh store against an endpoint that accepts and never answers', () => {
  for (const kind of KINDS) {
    it(`${kind}: getItems and addItems end in SessionTimeoutError within timeoutMs + 1 s, then the store works`, async () => {
      const faulty = await proxy();
      faulty.set('blackhole');
      const store = storeAt(faulty.via(endpoint), kind);
      const session = store.session(`blackhole-${kind}`);
      expectTimeout(await failing(`blackhole getItems (${kind})`, () => session.getItems()), 'getItems', false);
      expectTimeout(
        await failing(`blackhole addItems (${kind})`, () => session.addItems([message('swallowed')])),
        'addItems',
        true,
      );
      await expectNoSocketWaiting(store.client);
      faulty.set('pass');
      await recovers(`after blackhole (${kind})`, () => session.getItems());
      await session.addItems([message('after')]);
      expect(await session.getItems()).toEqual([message('after')]);
    });
  }
});

describe('stall: the server stops answering mid-use', () => {
  for (const kind of KINDS) {
    it(`${kind}: calls end within timeoutMs + 1 s; after pass the SAME store works, and the abandoned write never lands`, async () => {
      const faulty = await proxy();
      const store = storeAt(faulty.via(endpoint), kind);
      const session = store.session(`stall-${kind}`);
      await session.addItems([message('before')]);
      expect(await session.getItems()).toEqual([message('before')]);
      faulty.set('stall');
      expectTimeout(await failing(`stall getItems (${kind})`, () => session.getItems()), 'getItems', false);
      expectTimeout(
        await failing(`stall addItems (${kind})`, () => session.addItems([message('held')])),
        'addItems',
        true,
      );
      expectTimeout(await failing(`stall popItem (${kind})`, () => session.popItem()), 'popItem', true);
      await expectNoSocketWaiting(store.client);
      faulty.set('pass');
      // The proxy releases what it held on connections still open: the aborted requests had
      // none left, so the stalled write and pop did not apply late.
      expect(await recovers(`after stall (${kind})`, () => session.getItems())).toEqual([message('before')]);
      await session.addItems([message('after')]);
      expect(await session.getItems()).toEqual([message('before'), message('after')]);
    });
  }

  it('a write that timed out is retried safely as a history transaction with the same operationId', async () => {
    const faulty = await proxy();
    const store = storeAt(faulty.via(endpoint), 'own client');
    const session = store.session('stall-transaction');
    await session.addItems([message('first')]);
    const transaction = {
      operationId: 'turn-2',
      transaction: { type: 'append_items' as const, items: [message('second')] },
    };
    faulty.set('slow', { delayMs: TIMEOUT_MS + 500 });
    const timedOut = await failing('slow applyHistoryTransaction', () => session.applyHistoryTransaction(transaction));
    expectTimeout(timedOut, 'applyHistoryTransaction', true);
    faulty.set('pass');
    await recovers('transaction retried', () => session.applyHistoryTransaction(transaction));
    await session.applyHistoryTransaction(transaction);
    expect(await session.getItems()).toEqual([message('first'), message('second')]);
  });
});

describe('cut: connections dropped after the request', () => {
  for (const kind of KINDS) {
    it(`${kind}: a typed SessionConnectionError with the root cause, then the same store works after pass`, async () => {
      const faulty = await proxy();
      const store = storeAt(faulty.via(endpoint), kind);
      const session = store.session(`cut-${kind}`);
      await session.addItems([message('before')]);
      faulty.set('cut');
      for (const [operation, work] of [
        ['getItems', () => session.getItems()],
        ['addItems', () => session.addItems([message('cut')])],
      ] as const) {
        const { error, ms } = await failing(`cut ${operation} (${kind})`, work);
        expect(error).toBeInstanceOf(SessionConnectionError);
        expect(error).not.toBeInstanceOf(SessionTimeoutError);
        expect(error).toMatchObject({ code: 'CONNECTION', retryable: true, operation });
        expect((error as Error).message).toMatch(/socket hang up|ECONNRESET|EPIPE/);
        expect(ms).toBeLessThan(BOUND_MS);
      }
      faulty.set('pass');
      expect(await recovers(`after cut (${kind})`, () => session.getItems())).toEqual([message('before')]);
      await session.addItems([message('after')]);
      expect(await session.getItems()).toEqual([message('before'), message('after')]);
    });
  }
});

/** A server that starts listening on `port` later: forwards to DynamoDB Local. Returns its closer. */
async function listenLater(port: number): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    sockets.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
}

describe('down at the first call', () => {
  for (const kind of KINDS) {
    it(`${kind}: a store created while nothing listens fails with ECONNREFUSED, and works once the server is up`, async () => {
      const port = await freePort();
      const table = uniqueTable('down');
      const store = storeAt(`http://127.0.0.1:${port}`, kind, table);
      const session = store.session(`down-${kind}`);
      for (const [operation, work] of [
        ['getItems', () => session.getItems()],
        ['addItems', () => session.addItems([message('lost')])],
      ] as const) {
        const { error, ms } = await failing(`down ${operation} (${kind})`, work);
        expect(error).toBeInstanceOf(SessionConnectionError);
        expect(error).toMatchObject({ operation, retryable: true });
        expect((error as SessionStorageError).message).toContain('ECONNREFUSED');
        expect(ms).toBeLessThan(BOUND_MS);
      }
      const close = await listenLater(port);
      cleanups.push(() => dropTable(raw, table));
      cleanups.push(close);
      // The table did not exist either: the first call that reaches the server creates it.
      expect(await recovers(`after down (${kind})`, () => session.getItems())).toEqual([]);
      await session.addItems([message('up')]);
      expect(await session.getItems()).toEqual([message('up')]);
    });
  }
});

describe('a server restart', () => {
  it('the same store works again after DynamoDB Local restarts (its pooled connections died)', async () => {
    const service = await startPrivateService('dynamodb');
    cleanups.push(() => service.stop());
    const table = uniqueTable('restart');
    // A cold JVM creates its first table, and makes its first write to a table with an index,
    // slowly: both without the tight deadline.
    const setup = new DynamoDBSessionStore({ clientConfig: clientConfig({ endpoint: service.url }), tableName: table });
    await setup.setup();
    await setup.session('warm-up').addItems([message('warm-up')]);
    await setup.close();
    const store = storeAt(service.url, 'own client', table);
    const session = store.session('restart');
    await session.addItems([message('before restart')]);
    await service.restart();
    expect(await recovers('after restart', () => session.getItems())).toEqual([message('before restart')]);
    await session.addItems([message('after restart')]);
    expect(await session.getItems()).toEqual([message('before restart'), message('after restart')]);
  }, 180_000);
});

describe('authentication', () => {
  it('credentials DynamoDB Local refuses are a SessionAuthenticationError, not retryable', async () => {
    // DynamoDB Local accepts any credentials, except an access key id that is not letters and digits.
    const store = new DynamoDBSessionStore({
      clientConfig: clientConfig({ credentials: { accessKeyId: 'not-a-key!', secretAccessKey: 'x' } }),
      tableName,
      timeoutMs: TIMEOUT_MS,
    });
    cleanups.push(() => store.close());
    const { error } = await failing('refused credentials', () => store.session('auth').getItems());
    expect(error).toBeInstanceOf(SessionAuthenticationError);
    expect(error).toMatchObject({ code: 'AUTHENTICATION', retryable: false, operation: 'getItems' });
    expect((error as SessionStorageError).cause).toMatchObject({ name: 'UnrecognizedClientException' });
  });
});
