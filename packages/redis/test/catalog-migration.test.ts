import { encodeHistoryTransaction, encodeItem, type SessionInfo } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../src/index.js';
import { catalogKeysOf, redisForTests } from './helpers.js';
import { oldAppend, oldAppendTransaction, oldKeys } from './old-layout.js';

// The shared server, a key prefix of this file's own, and a raw client for checks.
const { url, keyPrefix, raw } = await redisForTests('migration');

const message = (content: string) => ({ type: 'message', role: 'user', content });
const texts = (...contents: string[]) => contents.map((content) => encodeItem(message(content), 'item'));
const ids = (infos: SessionInfo[]) => infos.map((info) => info.sessionId);

describe('a namespace written by @sessions/redis 0.1 (no catalog)', () => {
  it('getSessionInfo upgrades a session on first touch; setup() backfills the rest; items, ids and TTL carry over', async () => {
    const prefix = `${keyPrefix}_upgrade`;
    const tx = encodeHistoryTransaction({
      operationId: 'old-op',
      transaction: { type: 'append_items', items: [message('by transaction')] },
    });
    await oldAppend(raw, prefix, 'old-a', texts('a1', 'a2'));
    expect(await oldAppendTransaction(raw, prefix, 'old-a', tx.operationId, tx.fingerprint, tx.replacement)).toBe(
      'applied',
    );
    await oldAppend(raw, prefix, 'old-b', texts('b1'), 600_000);
    await oldAppend(raw, prefix, 'user:{odd}', texts('c1', 'c2', 'c3'));
    // What 0.1 left: items (and ops, optimes after a transaction), nothing else.
    const oldLayout = [...oldKeys(prefix, 'old-a'), oldKeys(prefix, 'old-b')[0]!, oldKeys(prefix, 'user:{odd}')[0]!];
    expect((await raw.keys(`${prefix}:*`)).sort()).toEqual([...oldLayout].sort());

    await using store = new RedisSessionStore({ url, keyPrefix: prefix });
    const before = Date.now();
    // First touch: the entry is made from what the items say.
    const a = await store.getSessionInfo('old-a');
    expect(a).toMatchObject({ sessionId: 'old-a', itemCount: 3, metadata: {} });
    expect(a!.expiresAt).toBeUndefined();
    expect(Math.abs(a!.createdAt.getTime() - before)).toBeLessThan(60_000);
    expect(ids((await store.listSessions()).sessions)).toEqual(['old-a']);

    // setup() indexes every other session of the prefix (SCAN), and writes nothing more the second time.
    await store.setup();
    const all = (await store.listSessions()).sessions;
    expect(ids(all).sort()).toEqual(['old-a', 'old-b', 'user:{odd}']);
    expect(Object.fromEntries(all.map((info) => [info.sessionId, info.itemCount]))).toEqual({
      'old-a': 3,
      'old-b': 1,
      'user:{odd}': 3,
    });
    const b = all.find((info) => info.sessionId === 'old-b')!;
    // The old TTL carries over to the new entry (it expires with its items).
    expect(b.expiresAt!.getTime() - Date.now()).toBeGreaterThan(500_000);
    const keysAfter = (await raw.keys(`${prefix}:*`)).sort();
    const metaKeys = ['old-a', 'old-b', 'user:{odd}'].map((id) => `${prefix}:{${encodeURIComponent(id)}}:meta`);
    expect(keysAfter).toEqual([...oldLayout, ...metaKeys, ...catalogKeysOf(prefix)].sort());
    const index = await raw.zRange(catalogKeysOf(prefix)[0]!, 0, -1);
    await store.setup();
    expect(await raw.zRange(catalogKeysOf(prefix)[0]!, 0, -1)).toEqual(index);

    // The history reads and grows as before; the old operation id is still remembered.
    const session = store.session('old-a');
    expect(await session.getItems()).toEqual([message('a1'), message('a2'), message('by transaction')]);
    await session.applyHistoryTransaction({
      operationId: 'old-op',
      transaction: { type: 'append_items', items: [message('by transaction')] },
    });
    expect(await session.getItems()).toHaveLength(3);
    await session.addItems([message('a4')]);
    const grown = (await store.getSessionInfo('old-a'))!;
    expect(grown.itemCount).toBe(4);
    expect(grown.createdAt.getTime()).toBe(a!.createdAt.getTime());
    expect(ids((await store.listSessions()).sessions)[0]).toBe('old-a');
  });

  it('a write is the first touch too: addItems, updateMetadata and clearSession on an old session', async () => {
    const prefix = `${keyPrefix}_writes`;
    for (const id of ['w-add', 'w-meta', 'w-clear']) await oldAppend(raw, prefix, id, texts('x', 'y'));
    await using store = new RedisSessionStore({ url, keyPrefix: prefix });
    await store.session('w-add').addItems([message('z')]);
    await store.session('w-meta').updateMetadata({ owner: 'ada' });
    await store.session('w-clear').clearSession();
    const infos = (await store.listSessions()).sessions;
    expect(Object.fromEntries(infos.map((info) => [info.sessionId, [info.itemCount, info.metadata]]))).toEqual({
      'w-add': [3, {}],
      'w-meta': [2, { owner: 'ada' }],
      'w-clear': [0, {}],
    });
    expect(await store.session('w-add').getItems()).toEqual([message('x'), message('y'), message('z')]);
    // Reads alone (getItems, getMetadata) change nothing in the old layout.
    await oldAppend(raw, prefix, 'r-only', texts('r'));
    expect(await store.session('r-only').getItems()).toEqual([message('r')]);
    expect(await store.session('r-only').getMetadata()).toEqual({});
    expect(await raw.exists(`${prefix}:{r-only}:meta`)).toBe(0);
  });
});
