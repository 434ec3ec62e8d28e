import { SessionConflictError, SessionItemTooLargeError } from '@sessions/core';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { RedisSession, RedisSessionStore } from '../src/index.js';
import { redisForTests } from './helpers.js';

// The shared server, a key prefix of this file's own, and a raw client for checks.
const { url, keyPrefix, raw } = await redisForTests('behaviour');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const message = (content: string, extra: Record<string, unknown> = {}) => ({
  type: 'message',
  role: 'user',
  content,
  ...extra,
});
const numbered = (tag: string, count: number) => Array.from({ length: count }, (_, i) => message(`${tag}-${i}`, { i }));
const keysOf = (id: string) =>
  ['items', 'ops', 'optimes', 'meta'].map((kind) => `${keyPrefix}:{${encodeURIComponent(id)}}:${kind}`);

describe('round trips', () => {
  it('each operation is one command to the server (scripts run inside it)', async () => {
    await using store = new RedisSessionStore({ url, keyPrefix, ttlSeconds: 600 });
    const session = store.session('round-trips');
    const warm = store.session('warm-up');
    // Load every script into the server's cache first (a cold cache costs one NOSCRIPT reply).
    await warm.addItems([message('w')]);
    await warm.popItem();
    await warm.applyHistoryTransaction({ operationId: 'w', transaction: { type: 'append_items', items: [] } });
    await warm.replaceHistoryWithCompaction([message('w')]);
    await warm.clearSession();

    const monitor = createClient({ url });
    await monitor.connect();
    const seen: string[] = [];
    const tag = `${keyPrefix}:{round-trips}`;
    await monitor.monitor((line) => {
      // Commands a script runs are logged as "[0 lua]"; only the client's own commands count.
      if (line.includes(tag) && !line.includes(' lua]')) seen.push(line.split('"')[1]!.toUpperCase());
    });
    const calls: [string, () => Promise<unknown>][] = [
      ['addItems', () => session.addItems(numbered('a', 50))],
      ['getItems(3)', () => session.getItems(3)],
      ['getItems()', () => session.getItems()],
      ['popItem', () => session.popItem()],
      [
        'applyHistoryTransaction',
        () =>
          session.applyHistoryTransaction({
            operationId: 'op',
            transaction: { type: 'append_items', items: [message('t')] },
          }),
      ],
      ['replaceHistoryWithCompaction', () => session.replaceHistoryWithCompaction(numbered('c', 3))],
      ['clearSession', () => session.clearSession()],
    ];
    const counts: Record<string, string[]> = {};
    for (const [name, call] of calls) {
      seen.length = 0;
      await call();
      // MONITOR output is asynchronous: wait until a marker sent afterwards shows up.
      await raw.get(`${tag}:marker`);
      for (let i = 0; i < 100 && !seen.includes('GET'); i++) await sleep(5);
      counts[name] = seen.filter((command) => command !== 'GET');
    }
    await monitor.destroy();
    expect(counts).toEqual({
      addItems: ['EVALSHA'],
      'getItems(3)': ['LRANGE'],
      'getItems()': ['LRANGE'],
      popItem: ['EVALSHA'],
      applyHistoryTransaction: ['EVALSHA'],
      replaceHistoryWithCompaction: ['EVALSHA'],
      clearSession: ['EVALSHA'],
    });
  });
});

describe('large values and long batches', () => {
  const MiB = 1024 * 1024;
  const big = (seed: string, bytes: number) => ({
    type: 'computer_call_result',
    callId: seed,
    output: { type: 'computer_screenshot', data: seed.repeat(Math.ceil(bytes / seed.length)).slice(0, bytes) },
  });

  it('2 MiB items go through transactions and compaction', async () => {
    await using store = new RedisSessionStore({ url, keyPrefix });
    const session = store.session('big');
    const one = big('one', 2 * MiB);
    const two = big('two', 2 * MiB + 1);
    await session.applyHistoryTransaction({
      operationId: 'big-1',
      transaction: { type: 'append_items', items: [one] },
    });
    await session.applyHistoryTransaction({
      operationId: 'big-2',
      transaction: { type: 'replace_suffix', expectedSuffix: [one], replacement: [two, one] },
    });
    expect(await session.getItems()).toEqual([two, one]);
    await session.replaceHistoryWithCompaction([one, message('after')]);
    expect(await session.getItems()).toEqual([one, message('after')]);
    expect(await session.popItem()).toEqual(message('after'));
    expect(await session.popItem()).toEqual(one);
  });

  it('batches of 20,000 items are appended, replaced and matched whole', async () => {
    await using store = new RedisSessionStore({ url, keyPrefix });
    const session = store.session('long');
    const items = numbered('long', 20_000);
    await session.addItems(items);
    expect(await raw.lLen(keysOf('long')[0]!)).toBe(20_000);
    expect(await session.getItems(2)).toEqual(items.slice(-2));
    const replacement = numbered('swap', 15_000);
    await session.applyHistoryTransaction({
      operationId: 'long',
      transaction: { type: 'replace_suffix', expectedSuffix: items.slice(5_000), replacement },
    });
    expect(await session.getItems()).toEqual([...items.slice(0, 5_000), ...replacement]);
    await session.replaceHistoryWithCompaction(items);
    expect(await session.getItems()).toEqual(items);
  });

  it('an item Redis could not take as one argument is refused before any I/O', async () => {
    class SmallSession extends RedisSession {
      protected override get maxItemBytes() {
        return 100;
      }
    }
    const session = new SmallSession({ sessionId: `small-${Date.now()}`, client: raw, keyPrefix });
    await session.addItems([{ text: '€'.repeat(25) }]);
    const error = await session.addItems([{ ok: 1 }, { text: '€'.repeat(34) }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionItemTooLargeError);
    expect(error).toMatchObject({ path: 'items[1]', maxBytes: 100, code: 'ITEM_TOO_LARGE' });
    expect(await session.getItems()).toEqual([{ text: '€'.repeat(25) }]);
  });
});

describe('ttl', () => {
  it('every key of the session gets the sliding TTL; a write without TTL removes it; Redis deletes expired keys', async () => {
    await using short = new RedisSessionStore({ url, keyPrefix, ttlSeconds: 0.3 });
    await using long = new RedisSessionStore({ url, keyPrefix, ttlSeconds: 600 });
    await using forever = new RedisSessionStore({ url, keyPrefix });
    const id = 'ttl-keys';
    await long.session(id).applyHistoryTransaction({
      operationId: 'op',
      transaction: { type: 'append_items', items: [message('a')] },
    });
    for (const key of keysOf(id)) {
      const ttl = await raw.pTTL(key);
      expect(ttl, key).toBeGreaterThan(590_000);
      expect(ttl, key).toBeLessThanOrEqual(600_000);
    }
    await forever.session(id).addItems([message('b')]);
    for (const key of keysOf(id)) expect(await raw.pTTL(key), key).toBe(-1);
    await short.session(id).popItem();
    for (const key of keysOf(id)) expect(await raw.pTTL(key), key).toBeLessThanOrEqual(300);
    await sleep(450);
    expect(await raw.exists(keysOf(id))).toBe(0);
    expect(await forever.session(id).getItems()).toEqual([]);
    // The expired operation id is gone with the rest: it can be used again.
    await forever.session(id).applyHistoryTransaction({
      operationId: 'op',
      transaction: { type: 'append_items', items: [message('fresh')] },
    });
    expect(await forever.session(id).getItems()).toEqual([message('fresh')]);
  });

  it('clearSession forgets recorded operation ids', async () => {
    await using store = new RedisSessionStore({ url, keyPrefix });
    const session = store.session('forget-ops');
    const tx = { operationId: 'once', transaction: { type: 'append_items' as const, items: [message('x')] } };
    await session.applyHistoryTransaction(tx);
    await session.clearSession();
    // The history and the ids are gone; the catalog entry (meta) stays, with 0 items.
    expect(await raw.exists(keysOf('forget-ops').slice(0, 3))).toBe(0);
    await session.applyHistoryTransaction({ ...tx, transaction: { type: 'append_items', items: [message('y')] } });
    expect(await session.getItems()).toEqual([message('y')]);
  });
});

describe('separate connections', () => {
  it('writers on five connections: batches whole, one winner per suffix, distinct pops', async () => {
    const stores = Array.from({ length: 5 }, () => new RedisSessionStore({ url, keyPrefix }));
    const id = 'five-connections';
    await Promise.all(
      stores.flatMap((store, s) =>
        Array.from({ length: 4 }, async (_, w) => {
          for (let b = 0; b < 10; b++) {
            await store.session(id).addItems(Array.from({ length: 4 }, (_, i) => message(`s${s}w${w}b${b}`, { i })));
          }
        }),
      ),
    );
    const items = await stores[0]!.session(id).getItems();
    expect(items).toHaveLength(5 * 4 * 10 * 4);
    for (let k = 0; k < items.length; k += 4) {
      for (let i = 0; i < 4; i++) expect(items[k + i]).toMatchObject({ content: items[k]!.content, i });
    }
    const tail = items.slice(-2);
    const results = await Promise.allSettled(
      stores.flatMap((store, s) =>
        Array.from({ length: 3 }, (_, k) =>
          store.session(id).applyHistoryTransaction({
            operationId: `race-${s}-${k}`,
            transaction: { type: 'replace_suffix', expectedSuffix: tail, replacement: [message(`winner-${s}-${k}`)] },
          }),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SessionConflictError);
    const popped = await Promise.all(
      stores.flatMap((store) => Array.from({ length: 20 }, () => store.session(id).popItem())),
    );
    expect(new Set(popped.map((item) => JSON.stringify(item))).size).toBe(100);
    expect(await raw.lLen(keysOf(id)[0]!)).toBe(items.length - 2 + 1 - 100);
    await Promise.all(stores.map((store) => store.close()));
  });
});
