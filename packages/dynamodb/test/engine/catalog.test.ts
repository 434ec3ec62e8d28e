import type { CatalogQuery } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { type FetchShard, keyRange, listPage, MAX_ROUNDS_PER_PAGE, type ShardQuery } from '../../src/engine/catalog.js';
import { CATALOG_SHARDS, catalogKey, catalogKeys, catalogShard, M, n, type Row } from '../../src/engine/layout.js';

const NOW = 1_800_000_000_000;

interface Entry {
  id: string;
  updatedAt: number;
  labels?: Record<string, unknown>;
  expiresAtMs?: number;
}

/** What the index holds for `entries`, served per shard in key order like a DynamoDB Query. */
function index(entries: Entry[]): { fetch: FetchShard; queries: ShardQuery[] } {
  const rows: Row[] = entries.map((e) => ({
    pk: { S: e.id },
    ...catalogKeys(e.id, e.updatedAt),
    [M.updatedAt]: n(e.updatedAt),
    [M.createdAt]: n(e.updatedAt - 1000),
    [M.itemCount]: n(1),
    ...(e.labels && { [M.labels]: { S: JSON.stringify(e.labels) } }),
    ...(e.expiresAtMs !== undefined && { [M.expiresAtMs]: n(e.expiresAtMs) }),
  }));
  const queries: ShardQuery[] = [];
  const keyOf = (row: Row) => row[M.catalogKey]?.S as string;
  const fetch: FetchShard = async (query) => {
    queries.push(query);
    const start = query.startKey ? keyOf(query.startKey) : undefined;
    const inRange = rows
      .filter((row) => row[M.catalogShard]?.S === query.shard)
      .filter((row) => keyOf(row) >= query.lo && keyOf(row) <= query.hi && (start === undefined || keyOf(row) > start))
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    const page = inRange.slice(0, query.limit);
    return { rows: page, lastKey: inRange.length > query.limit ? page.at(-1) : undefined };
  };
  return { fetch, queries };
}

const query = (extra: Partial<CatalogQuery> = {}): CatalogQuery => ({ limit: 50, metadata: [], ...extra });

/** Every id through every page, as the store's iterator would. */
async function listAll(fetch: FetchShard, base: CatalogQuery): Promise<string[]> {
  const ids: string[] = [];
  let after = base.after;
  for (let page = 0; page < 1000; page++) {
    const result = await listPage({ ...base, ...(after && { after }) }, fetch, NOW);
    ids.push(...result.sessions.map((s) => s.sessionId));
    if (!result.next) return ids;
    after = result.next;
  }
  throw new Error('did not end');
}

describe('catalog keys', () => {
  it('sort newest first, then by id, and spread ids over every shard', () => {
    expect(catalogKey(2_000, 'a') < catalogKey(1_000, 'a')).toBe(true);
    expect(catalogKey(1_000, 'a') < catalogKey(1_000, 'b')).toBe(true);
    expect(catalogKey(1_000, 'z') < catalogKey(999, 'a')).toBe(true);
    const shards = new Set(Array.from({ length: 500 }, (_, i) => catalogShard(`session-${i}`)));
    expect(shards.size).toBe(CATALOG_SHARDS);
  });

  it('bounds: updatedBefore and updatedAfter exclusive, after inclusive (skipped by the merge)', () => {
    const { lo, hi } = keyRange(query({ updatedBefore: 5_000, updatedAfter: 1_000 }));
    expect(catalogKey(5_000, 'x') >= lo).toBe(false);
    expect(catalogKey(4_999, 'x') >= lo).toBe(true);
    expect(catalogKey(1_001, 'x') <= hi).toBe(true);
    expect(catalogKey(1_000, 'x') <= hi).toBe(false);
  });
});

describe('listPage', () => {
  const entries: Entry[] = Array.from({ length: 300 }, (_, i) => ({
    id: `s${String(i).padStart(3, '0')}`,
    // Ties on purpose: ten sessions per millisecond.
    updatedAt: NOW - 10_000 + Math.floor(i / 10),
    labels: { even: i % 2 === 0, tier: i % 7 },
  }));
  const expected = [...entries].sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : 1)).map((e) => e.id);

  it('merges the shards into the global order, every session once, at every page size', async () => {
    const { fetch } = index(entries);
    for (const limit of [1, 7, 50, 1000]) expect(await listAll(fetch, query({ limit }))).toEqual(expected);
  });

  it('an unfiltered page is one parallel round of one query per shard, whatever the number of sessions', async () => {
    for (const count of [40, 300]) {
      const { fetch, queries } = index(entries.slice(0, count));
      const page = await listPage(query({ limit: 20 }), fetch, NOW);
      expect(page.sessions).toHaveLength(20);
      expect(page.next).toBeDefined();
      expect(queries).toHaveLength(CATALOG_SHARDS);
    }
  });

  it('a rare metadata match stops after a bounded number of rounds and says where to resume', async () => {
    const { fetch, queries } = index(entries);
    const rare = query({ limit: 5, metadata: [['tier', 3]] });
    const first = await listPage(rare, fetch, NOW);
    expect(queries.length).toBeLessThanOrEqual(CATALOG_SHARDS * MAX_ROUNDS_PER_PAGE);
    expect(first.next).toBeDefined();
    const all = await listAll(fetch, rare);
    expect(all).toEqual(expected.filter((id) => Number(id.slice(1)) % 7 === 3));
    // Types matter: true is not 'true', 3 is not '3'.
    expect(await listAll(fetch, query({ metadata: [['tier', '3']] }))).toEqual([]);
    expect(await listAll(fetch, query({ metadata: [['even', true]], limit: 9 }))).toEqual(
      expected.filter((id) => Number(id.slice(1)) % 2 === 0),
    );
  });

  it('skips expired sessions; returns no cursor when nothing more can follow', async () => {
    const { fetch } = index([
      { id: 'live', updatedAt: NOW - 5 },
      { id: 'expired', updatedAt: NOW - 4, expiresAtMs: NOW - 1 },
      { id: 'later', updatedAt: NOW - 3, expiresAtMs: NOW + 60_000 },
    ]);
    const page = await listPage(query({ limit: 2 }), fetch, NOW);
    expect(page.sessions.map((s) => s.sessionId)).toEqual(['later', 'live']);
    expect(page.sessions[0]?.expiresAt).toEqual(new Date(NOW + 60_000));
    expect(page.next).toBeUndefined();
  });

  it('updatedAfter / updatedBefore select exactly the sessions strictly between', async () => {
    const { fetch } = index(entries);
    const between = await listAll(fetch, query({ updatedAfter: NOW - 9_990, updatedBefore: NOW - 9_980, limit: 4 }));
    expect(between).toEqual(expected.filter((id) => Number(id.slice(1)) >= 110 && Number(id.slice(1)) < 200));
    expect(await listAll(fetch, query({ updatedAfter: NOW, updatedBefore: NOW - 1 }))).toEqual([]);
  });
});
