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

/**
 * Writes items and a recorded transaction for every tricky id, then SCANs the keyspace (every
 * master of a cluster) and checks that each key follows the layout and maps back to exactly
 * one session, that each session has exactly its three keys, and that no data leaked.
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
  const keys = await scanKeys(nodes, `${keyPrefix}:*`);
  const layout = new RegExp(`^${keyPrefix}:\\{([^{}]+)\\}:(items|ops|optimes)$`);
  const kinds = new Map<string, string[]>();
  for (const key of keys) {
    const match = layout.exec(key);
    expect(match, `key ${JSON.stringify(key)} follows <prefix>:{<tag>}:<kind>`).not.toBeNull();
    const id = decodeURIComponent(match![1]!);
    expect(TRICKY_IDS, `key ${JSON.stringify(key)} maps to a known session`).toContain(id);
    expect(`${keyPrefix}:{${encodeURIComponent(id)}}:${match![2]}`).toBe(key);
    kinds.set(id, [...(kinds.get(id) ?? []), match![2]!]);
  }
  expect(keys).toHaveLength(TRICKY_IDS.length * 3);
  for (const id of TRICKY_IDS) {
    expect(kinds.get(id)?.sort(), `keys of ${JSON.stringify(id)}`).toEqual(['items', 'ops', 'optimes']);
  }
  for (const [i, id] of TRICKY_IDS.entries()) {
    expect((await store.session(id).getItems()).map((item) => item.owner)).toEqual([i, i]);
  }
  // Clearing one session removes its keys and only its keys.
  await store.session('{a}').clearSession();
  expect(await scanKeys(nodes, `${keyPrefix}:*`)).toHaveLength((TRICKY_IDS.length - 1) * 3);
  expect(await store.session('a').getItems()).toHaveLength(2);
  expect(await store.session('a}').getItems()).toHaveLength(2);
}
