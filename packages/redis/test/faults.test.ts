import { SessionAuthenticationError, SessionConnectionError, SessionTimeoutError } from '@sessions/core';
import {
  type FaultProxy,
  freePort,
  spawnServer,
  startFaultProxyFor,
  timed,
  untilItWorks,
  waitForPort,
} from '@sessions/test-services';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../src/index.js';
import { itemsKey, redisForTests, uniquePrefix } from './helpers.js';

/** Healing checks here pause a little longer: node-redis reconnects with its own back-off. */
const untilItWorksHere = (call: () => Promise<unknown>) => untilItWorks(call, { pauseMs: 300 });

// The shared server behind a proxy that misbehaves on demand. Every store here has a short
// deadline; the bound asserted is the deadline plus one second (the machine is shared).
const { url, keyPrefix, raw } = await redisForTests('faults');
const TIMEOUT_MS = 1_000;
const BOUND_MS = TIMEOUT_MS + 1_000;

const message = (content: string) => ({ type: 'message', role: 'user', content });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A redis-server of this file's own on `port` (no persistence); stopped by its PID after the file. */
const servers: ReturnType<typeof spawnServer>[] = [];
function spawnRedis(port: number, ...args: string[]) {
  const server = spawnServer(process.env.REDIS_SERVER_BIN ?? 'redis-server', [
    ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
  ]);
  servers.push(server);
  return server;
}

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxyFor(url, 6379);
});
afterAll(async () => {
  await proxy?.close();
  await Promise.all(servers.map((server) => server.stop()));
});
afterEach(() => {
  proxy.set('pass');
});

describe('a server that accepts connections and never answers (blackhole)', () => {
  it('a fresh store: getItems and addItems end in SessionTimeoutError within the deadline; the store heals', async () => {
    proxy.set('blackhole');
    const prefix = uniquePrefix('blackhole');
    await using store = new RedisSessionStore({ url: proxy.via(url), keyPrefix: prefix, timeoutMs: TIMEOUT_MS });
    const session = store.session('s');

    const read = await timed(() => session.getItems());
    expect(read.error).toBeInstanceOf(SessionTimeoutError);
    expect(read.error).toMatchObject({
      code: 'TIMEOUT',
      retryable: true,
      mayHaveApplied: false,
      operation: 'getItems',
    });
    expect(read.ms).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
    expect(read.ms).toBeLessThan(BOUND_MS);

    // node-redis pipelines queued commands behind its handshake, so the write did leave the
    // client: it may have been applied as far as the store can tell.
    const write = await timed(() => session.addItems([message('swallowed')]));
    expect(write.error).toBeInstanceOf(SessionTimeoutError);
    expect(write.error).toMatchObject({ code: 'TIMEOUT', mayHaveApplied: true, operation: 'addItems' });
    expect(write.ms).toBeLessThan(BOUND_MS);

    const setup = await timed(() => store.setup());
    expect(setup.error).toBeInstanceOf(SessionTimeoutError);
    expect(setup.ms).toBeLessThan(BOUND_MS);

    proxy.set('pass');
    await untilItWorksHere(() => session.getItems());
    expect(await session.getItems()).toEqual([]);
    await session.addItems([message('after')]);
    // Read directly: only the write made after healing is stored.
    expect((await raw.lRange(itemsKey(prefix, 's'), 0, -1)).map((text) => JSON.parse(text))).toEqual([
      message('after'),
    ]);
    await raw.del(itemsKey(prefix, 's'));
  });
});

describe('a server that stops answering mid-use (stall)', () => {
  it('calls end within the deadline, a sent write says it may have applied, and the same store works after pass', async () => {
    await using store = new RedisSessionStore({ url: proxy.via(url), keyPrefix, timeoutMs: TIMEOUT_MS });
    const session = store.session('stall');
    await session.addItems([message('before')]);
    expect(await session.getItems()).toEqual([message('before')]);

    const connections = proxy.connections;
    proxy.set('stall');
    // The first call goes out on the open connection and gets no answer.
    const write = await timed(() => session.addItems([message('maybe')]));
    expect(write.error).toBeInstanceOf(SessionTimeoutError);
    expect(write.error).toMatchObject({ code: 'TIMEOUT', mayHaveApplied: true, operation: 'addItems' });
    expect(write.ms).toBeLessThan(BOUND_MS);
    const read = await timed(() => session.getItems());
    expect(read.error).toBeInstanceOf(SessionTimeoutError);
    expect(read.error).toMatchObject({ mayHaveApplied: false, operation: 'getItems' });
    expect(read.ms).toBeLessThan(BOUND_MS);

    proxy.set('pass');
    await untilItWorksHere(() => session.getItems());
    expect(proxy.connections, 'the silent connection was replaced').toBeGreaterThan(connections);
    // The store dropped the silent connection, so the write held by the proxy never arrived;
    // retried as a transaction with an operation id it lands exactly once, however often sent.
    const tx = { operationId: 'retry-1', transaction: { type: 'append_items' as const, items: [message('once')] } };
    await session.applyHistoryTransaction(tx);
    await session.applyHistoryTransaction(tx);
    expect(await session.getItems()).toEqual([message('before'), message('once')]);
  });

  it('concurrent calls on one silent connection all end within the deadline', async () => {
    await using store = new RedisSessionStore({ url: proxy.via(url), keyPrefix, timeoutMs: TIMEOUT_MS });
    await store.session('busy-0').getItems();
    proxy.set('stall');
    const started = performance.now();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.session(`busy-${i}`).addItems([message(String(i))])),
    );
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(SessionConnectionError);
    }
    proxy.set('pass');
    await untilItWorksHere(() => store.session('busy-0').getItems());
  });
});

describe('calls waiting on a connection the store dropped', () => {
  it('fail at once with SessionConnectionError when an earlier call on that connection times out', async () => {
    await using store = new RedisSessionStore({ url: proxy.via(url), keyPrefix, timeoutMs: TIMEOUT_MS });
    await store.session('first').getItems();
    proxy.set('stall');
    const first = timed(() => store.session('first').getItems());
    await sleep(TIMEOUT_MS / 2);
    const second = await timed(() => store.session('second').getItems());
    expect((await first).error).toBeInstanceOf(SessionTimeoutError);
    // The second call was sent on the same silent connection: it ends when the store drops
    // that connection, about half its own deadline, with a connection error naming why.
    expect(second.error).toBeInstanceOf(SessionConnectionError);
    expect(second.error).not.toBeInstanceOf(SessionTimeoutError);
    expect(second.error?.message).toMatch(/did not answer within 1000 ms/);
    expect(second.ms).toBeLessThan(TIMEOUT_MS * 0.8);
  });
});

describe('a quiet store and a borrowed client', () => {
  it('an idle, healthy connection is kept (no idle timeout): calls after a pause longer than the deadline reuse it', async () => {
    await using store = new RedisSessionStore({ url: proxy.via(url), keyPrefix, timeoutMs: TIMEOUT_MS });
    await store.session('idle').getItems();
    const connections = proxy.connections;
    await sleep(TIMEOUT_MS * 1.5);
    await store.session('idle').getItems();
    expect(proxy.connections).toBe(connections);
  });

  it("a caller's own client gets the deadline but is never reconfigured or dropped; it works again after pass", async () => {
    const { createClient } = await import('redis');
    const client = createClient({ url: proxy.via(url) });
    client.on('error', () => {});
    await client.connect();
    const store = new RedisSessionStore({ client, keyPrefix, timeoutMs: TIMEOUT_MS });
    const session = store.session('borrowed');
    await session.addItems([message('mine')]);
    proxy.set('stall');
    const read = await timed(() => session.getItems());
    expect(read.error).toBeInstanceOf(SessionTimeoutError);
    expect(read.ms).toBeLessThan(BOUND_MS);
    expect(client.isReady, 'the store left the connection alone').toBe(true);
    proxy.set('pass');
    // The held request and its answer flow again on the same connection.
    expect(await session.getItems()).toEqual([message('mine')]);
    await store.close();
    expect(client.isOpen).toBe(true);
    await client.close();
  });
});

describe('a connection cut under the store (cut)', () => {
  it('a typed SessionConnectionError naming the cause, then the same store works after pass', async () => {
    await using store = new RedisSessionStore({ url: proxy.via(url), keyPrefix, timeoutMs: TIMEOUT_MS });
    const session = store.session('cut');
    await session.addItems([message('before')]);
    proxy.set('cut');
    const read = await timed(() => session.getItems());
    expect(read.error).toBeInstanceOf(SessionConnectionError);
    expect(read.error).toMatchObject({ retryable: true, operation: 'getItems' });
    expect(read.error?.message).toMatch(/closed unexpectedly/i);
    expect(read.ms).toBeLessThan(BOUND_MS);
    proxy.set('pass');
    await untilItWorksHere(() => session.getItems());
    expect(await session.getItems()).toEqual([message('before')]);
  });
});

describe('a server that is down when the store is created', () => {
  it('fails with the root cause (ECONNREFUSED) within the deadline, then works once the server is up', async () => {
    const port = await freePort();
    await using store = new RedisSessionStore({
      url: `redis://127.0.0.1:${port}`,
      keyPrefix,
      timeoutMs: TIMEOUT_MS,
    });
    const session = store.session('late');
    const down = await timed(() => session.getItems());
    expect(down.error).toBeInstanceOf(SessionConnectionError);
    expect(down.error).not.toBeInstanceOf(SessionTimeoutError);
    expect(down.error?.message).toMatch(/ECONNREFUSED/);
    expect(down.ms).toBeLessThan(BOUND_MS);

    spawnRedis(port);
    await untilItWorksHere(() => session.getItems());
    await session.addItems([message('hello')]);
    expect(await session.getItems()).toEqual([message('hello')]);
  });
});

describe('refused credentials', () => {
  // A server of this file's own that requires a password (the shared one lets anyone in as
  // `default`, and node-redis pipelines the first commands behind its AUTH).
  let authUrl: string;
  beforeAll(async () => {
    const port = await freePort();
    const server = spawnRedis(port, '--requirepass', 'server-pw');
    await waitForPort(port, 15_000, server.alive);
    authUrl = `redis://127.0.0.1:${port}`;
  });
  const withCredentials = (credentials: string) => authUrl.replace('redis://', `redis://${credentials}@`);

  it('a wrong password is a SessionAuthenticationError at once (not retryable); fixed on the server, the same store works', async () => {
    const admin = withCredentials(':server-pw');
    const { createClient } = await import('redis');
    const client = createClient({ url: admin });
    await client.connect();
    await client.sendCommand(['ACL', 'SETUSER', 'app', 'reset', 'on', '>right-pw', '~*', '+@all']);
    await using store = new RedisSessionStore({ url: withCredentials('app:wrong-pw'), keyPrefix, timeoutMs: 5_000 });
    const session = store.session('auth');
    const calls: Array<() => Promise<unknown>> = [
      () => session.getItems(),
      () => session.addItems([message('x')]),
      () => store.setup(),
    ];
    for (const call of calls) {
      const { error, ms } = await timed(call);
      expect(error).toBeInstanceOf(SessionAuthenticationError);
      expect(error).toMatchObject({ code: 'AUTHENTICATION', retryable: false });
      expect(error?.message).toMatch(/WRONGPASS|NOAUTH/);
      expect(error?.message).not.toContain('wrong-pw');
      // Well before the 5 s deadline: the store does not wait for a retry that cannot succeed.
      expect(ms).toBeLessThan(2_000);
    }
    await client.sendCommand(['ACL', 'SETUSER', 'app', '>wrong-pw']);
    await untilItWorksHere(() => session.getItems());
    await session.addItems([message('in')]);
    expect(await session.getItems()).toEqual([message('in')]);
    await client.close();
  });

  it('no password where the server requires one (NOAUTH) is a SessionAuthenticationError', async () => {
    await using store = new RedisSessionStore({ url: authUrl, keyPrefix, timeoutMs: 5_000 });
    const calls: Array<() => Promise<unknown>> = [() => store.session('noauth').getItems(), () => store.setup()];
    for (const call of calls) {
      const { error, ms } = await timed(call);
      expect(error).toBeInstanceOf(SessionAuthenticationError);
      expect(error?.message).toMatch(/NOAUTH/);
      expect(ms).toBeLessThan(2_000);
    }
  });
});
