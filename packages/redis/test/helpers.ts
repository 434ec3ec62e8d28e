import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, expect, inject } from 'vitest';
import type { RedisSessionClient, RedisSessionStore } from '../src/index.js';

/** A key prefix of its own for each test file and run, so runs never collide. */
export function uniquePrefix(label: string): string {
  return `t_${label}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/**
 * The shared test server's URL, a key prefix of this file's own, and a separate raw client for
 * checks (so tests see what really landed); the file's keys are deleted after its tests.
 */
export async function redisForTests(label: string) {
  const url = inject('redisUrl');
  const keyPrefix = uniquePrefix(label);
  const raw = createClient({ url });
  raw.on('error', () => {});
  await raw.connect();
  afterAll(async () => {
    await deleteKeys(raw, await scanKeys([raw], `${keyPrefix}*`));
    await raw.close();
  });
  return { url, keyPrefix, raw };
}

/** The documented key of a session's item list, built independently of the package. */
export function itemsKey(prefix: string, sessionId: string): string {
  return `${prefix}:{${encodeURIComponent(sessionId)}}:items`;
}

/** Every key of the keyspace (on every master of a cluster) that matches `pattern`. */
export async function scanKeys(
  nodes: { scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]> }[],
  pattern: string,
): Promise<string[]> {
  const keys: string[] = [];
  for (const node of nodes) {
    for await (const batch of node.scanIterator({ MATCH: pattern, COUNT: 1000 })) keys.push(...batch);
  }
  return keys;
}

/** Deletes the keys a test file left behind (one DEL per key: keys of a cluster may be on any slot). */
export async function deleteKeys(client: RedisSessionClient, keys: string[]): Promise<void> {
  await Promise.all(keys.map((key) => client.del([key])));
}

/** Ids built to break a naive layout: braces that end or open a hash tag, separators, escapes. */
export const TRICKY_IDS = [
  'a',
  'a:b',
  'a%3Ab',
  'a%253Ab',
  '%',
  '%25',
  '%7B',
  '%7Ba%7D',
  '%7Ba%7D:items',
  '{',
  '}',
  '{}',
  '}{',
  '{a}',
  'a}:items',
  'a}:ops',
  'x}:items{y',
  ':items',
  'a:{b}:items',
  'a{b}c',
  '{{a}}',
  'a}',
  '{a',
  'sessions:{a}:items',
  '*',
  '?',
  '[a]',
  'a b',
  'a\nb',
  'a\\b',
  '\u00e9',
  'e\u0301',
  '\u{1F600}',
  '\u{1F469}\u200d\u{1F469}\u200d\u{1F467}',
  '\u{10FFFF}',
  'A',
  '__proto__',
  'x'.repeat(400),
];

/** The documented catalog keys of a prefix, built independently of the package. */
export function catalogKeysOf(prefix: string): [order: string, at: string] {
  return [`${prefix}:{${prefix}#catalog}:order`, `${prefix}:{${prefix}#catalog}:at`];
}

/**
 * Writes items and a recorded transaction for every tricky id, then SCANs the keyspace (every
 * master of a cluster) and checks that each key follows the layout and maps back to exactly
 * one session (or is one of the prefix's two catalog keys), that each session has exactly its
 * four keys, that the catalog lists each session once in byte order of its id, and that no
 * data leaked.
 */
export async function expectKeysOwnedByOneSession(
  store: RedisSessionStore,
  nodes: Parameters<typeof scanKeys>[0],
): Promise<void> {
  const { keyPrefix } = store;
  for (const [i, id] of TRICKY_IDS.entries()) {
    const session = store.session(id);
    await session.addItems([{ type: 'message', role: 'user', content: id, owner: i }]);
    await session.applyHistoryTransaction({
      operationId: `op-${i}`,
      transaction: { type: 'append_items', items: [{ type: 'message', role: 'assistant', content: 'ok', owner: i }] },
    });
  }
  const catalog = catalogKeysOf(keyPrefix);
  const keys = (await scanKeys(nodes, `${keyPrefix}:*`)).filter((key) => !catalog.includes(key));
  const layout = new RegExp(`^${keyPrefix}:\\{([^{}]+)\\}:(items|ops|optimes|meta)$`);
  const kinds = new Map<string, string[]>();
  for (const key of keys) {
    const match = layout.exec(key);
    expect(match, `key ${JSON.stringify(key)} follows <prefix>:{<tag>}:<kind>`).not.toBeNull();
    const id = decodeURIComponent(match![1]!);
    expect(TRICKY_IDS, `key ${JSON.stringify(key)} maps to a known session`).toContain(id);
    expect(`${keyPrefix}:{${encodeURIComponent(id)}}:${match![2]}`).toBe(key);
    kinds.set(id, [...(kinds.get(id) ?? []), match![2]!]);
  }
  expect(keys).toHaveLength(TRICKY_IDS.length * 4);
  for (const id of TRICKY_IDS) {
    expect(kinds.get(id)?.sort(), `keys of ${JSON.stringify(id)}`).toEqual(['items', 'meta', 'ops', 'optimes']);
  }
  for (const [i, id] of TRICKY_IDS.entries()) {
    expect((await store.session(id).getItems()).map((item) => item.owner)).toEqual([i, i]);
  }
  // Every tricky id is listed once; ties in time come in UTF-8 byte order, as Redis sorts them.
  const listed: { sessionId: string; updatedAt: Date; itemCount: number }[] = [];
  for await (const info of store.sessions({ pageSize: 7 })) listed.push(info);
  expect(listed.map((info) => info.sessionId).sort()).toEqual([...TRICKY_IDS].sort());
  for (let i = 1; i < listed.length; i++) {
    const [a, b] = [listed[i - 1]!, listed[i]!];
    const inOrder =
      a.updatedAt > b.updatedAt ||
      (a.updatedAt.getTime() === b.updatedAt.getTime() &&
        Buffer.compare(Buffer.from(a.sessionId), Buffer.from(b.sessionId)) < 0);
    expect(inOrder, `${JSON.stringify(a.sessionId)} before ${JSON.stringify(b.sessionId)}`).toBe(true);
  }
  expect(listed.every((info) => info.itemCount === 2)).toBe(true);
  // Clearing one session removes its history keys and only those; its catalog entry stays.
  await store.session('{a}').clearSession();
  expect(await scanKeys(nodes, `${keyPrefix}:*`)).toHaveLength(TRICKY_IDS.length * 4 - 3 + 2);
  // Deleting one removes its four keys and only those.
  await store.deleteSession('a}');
  expect(await scanKeys(nodes, `${keyPrefix}:*`)).toHaveLength(TRICKY_IDS.length * 4 - 7 + 2);
  expect(await store.session('a').getItems()).toHaveLength(2);
  expect(await store.session('{a').getItems()).toHaveLength(2);
}

/** The commands a test uses to damage a catalog index, on a standalone or a cluster client. */
export interface IndexEditor {
  zAdd(key: string, member: { score: number; value: string }): Promise<unknown>;
  zRem(key: string, member: string): Promise<unknown>;
  hSet(key: string, field: string, value: string): Promise<unknown>;
  hDel(key: string, field: string): Promise<unknown>;
  hGet(key: string, field: string): Promise<unknown>;
}

/**
 * Damages the index the ways a Cluster can (an index write lost or reordered against the
 * session's write) and checks that listing never shows a deleted or phantom session, lists every
 * other one at its true place, repairs the index as it reads, and that the next write re-indexes
 * a session whose entry was lost.
 */
export async function expectCatalogSelfRepair(store: RedisSessionStore, editor: IndexEditor): Promise<void> {
  const [order, at] = catalogKeysOf(store.keyPrefix);
  const member = (t: number, id: string) => `${String(9e15 - t).padStart(16, '0')}:${id}`;
  const indexedAt = async (id: string) => {
    const value = await editor.hGet(at, id);
    return value === null || value === undefined ? undefined : Number(value);
  };
  const place = async (id: string, t: number | undefined) => {
    const old = await indexedAt(id);
    if (old !== undefined) {
      await editor.zRem(order, member(old, id));
      await editor.hDel(at, id);
    }
    if (t !== undefined) {
      await editor.zAdd(order, { score: 0, value: member(t, id) });
      await editor.hSet(at, id, String(t));
    }
  };
  const list = async () => {
    const all: string[] = [];
    for await (const info of store.sessions({ pageSize: 2 })) all.push(info.sessionId);
    return all;
  };
  const names = ['s0', 's1', 's2', 's3', 's4'];
  for (const name of names) {
    await store.session(name).addItems([{ type: 'message', role: 'user', content: name }]);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  expect(await list()).toEqual([...names].reverse());
  const truth = new Map<string, number>();
  for (const name of names) truth.set(name, (await store.getSessionInfo(name))!.updatedAt.getTime());

  await place('s1', truth.get('s1')! - 60_000); // looks older than it is: an index write was lost
  await place('s3', Date.now() + 60_000); // looks newer: the index moved for a write that changed nothing
  await place('ghost', Date.now()); // never written (a pop of nothing, say)
  await store.deleteSession('s0');
  await place('s0', truth.get('s0')!); // deleted, but the index removal was lost
  await place('s2', undefined); // indexed nowhere

  // s0 and the ghost are never listed; s3 is listed at its true place, not at the top; s1's
  // place was passed before the walk reached its stale member, so this walk misses it.
  expect(await list()).toEqual(['s4', 's3']);
  // The walk repaired what it read: the next one lists s1 where it belongs.
  expect(await list()).toEqual(['s4', 's3', 's1']);
  expect(await indexedAt('ghost')).toBeUndefined();
  expect(await indexedAt('s0')).toBeUndefined();
  expect(await indexedAt('s3')).toBe(truth.get('s3'));
  expect(await indexedAt('s1')).toBe(truth.get('s1'));
  // s2 is found by getSessionInfo all along, and its next write indexes it again (a pop here).
  expect(await store.getSessionInfo('s2')).toMatchObject({ itemCount: 1 });
  await store.session('s2').popItem();
  expect(await list()).toEqual(['s2', 's4', 's3', 's1']);
}
