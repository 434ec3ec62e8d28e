/**
 * The catalog: listing sessions from the sparse index `catalog` (only metadata rows carry its
 * keys, see layout.ts), sharded in {@link CATALOG_SHARDS} partitions. A page queries every shard
 * for the next entries in listing order, in parallel, and merges them; an entry is taken only
 * while every shard that may hold more has entries buffered, so what a page takes is exactly the
 * next part of the global order. Expired sessions and metadata filters are checked here, in code,
 * over that bounded read. No I/O of its own: the shard queries come from a callback.
 */
import {
  type CatalogPosition,
  type CatalogQuery,
  decodeMetadata,
  metadataMatches,
  type SessionInfo,
} from '@sessions/core';
import { readSnapshot } from './chain.js';
import { assertBudget } from './deadline.js';
import {
  CATALOG_SHARDS,
  catalogKey,
  catalogTime,
  isLive,
  M,
  type Meta,
  num,
  PARTITION_KEY,
  type Row,
} from './layout.js';
import type { SessionRequests } from './requests.js';

/** Rounds of shard queries one page makes at most (each round is parallel): the page's bound. */
export const MAX_ROUNDS_PER_PAGE = 4;

/** One shard query: entries of `shard` with `lo <= catalogKey <= hi`, in key order, after `startKey`. */
export interface ShardQuery {
  shard: string;
  lo: string;
  hi: string;
  limit: number;
  startKey: Row | undefined;
}

export interface ShardPage {
  rows: Row[];
  /** Where this shard continues; undefined when it has nothing more in range. */
  lastKey: Row | undefined;
}

export type FetchShard = (query: ShardQuery) => Promise<ShardPage>;

interface ShardState {
  shard: string;
  buffer: { key: string; row: Row }[];
  /** Undefined once the shard has nothing more in range. */
  startKey: Row | undefined;
  done: boolean;
  fetched: number;
}

/**
 * The key range of a query. Keys are `<inverted updatedAt>#<id>`, all starting with a digit:
 * `updatedBefore` (exclusive) starts at the inverted time of `updatedBefore - 1`; `updatedAfter`
 * (exclusive) ends at the bare inverted time of `updatedAfter`, which sorts below every key of
 * that millisecond. `after` is inclusive here and skipped by the merge.
 */
export function keyRange(query: CatalogQuery): { lo: string; hi: string; after: string | undefined } {
  const after = query.after ? catalogKey(query.after.updatedAt, query.after.sessionId) : undefined;
  const before = query.updatedBefore === undefined ? '0' : catalogTime(query.updatedBefore - 1);
  const lo = after !== undefined && after > before ? after : before;
  // ':' sorts right after '9': above every key.
  const hi = query.updatedAfter === undefined ? ':' : catalogTime(query.updatedAfter);
  return { lo, hi, after };
}

/** One page of `query`, listed at `now`. */
export async function listPage(
  query: CatalogQuery,
  fetch: FetchShard,
  now: number,
): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
  const { lo, hi, after } = keyRange(query);
  const sessions: SessionInfo[] = [];
  if (lo > hi) return { sessions };
  // Enough per shard that an unfiltered page rarely needs a second round (ids hash evenly).
  const firstFetch = Math.ceil((2 * query.limit) / CATALOG_SHARDS) + 4;
  const shards: ShardState[] = Array.from({ length: CATALOG_SHARDS }, (_, i) => ({
    shard: String(i),
    buffer: [],
    startKey: undefined,
    done: false,
    fetched: 0,
  }));
  let lastExamined: CatalogPosition | undefined;
  for (let round = 0; ; round++) {
    const empty = shards.filter((s) => !s.done && s.buffer.length === 0);
    if (empty.length > 0) {
      if (round >= MAX_ROUNDS_PER_PAGE) {
        // Bounded work: say where to resume. Every entry up to `lastExamined` was looked at.
        return lastExamined ? { sessions, next: lastExamined } : { sessions };
      }
      await Promise.all(
        empty.map(async (state) => {
          // Each refill of one shard asks for more than the last (a filter is skipping many).
          const limit = Math.min(1000, state.fetched === 0 ? firstFetch : state.fetched * 2);
          const page = await fetch({ shard: state.shard, lo, hi, limit, startKey: state.startKey });
          state.fetched += limit;
          for (const row of page.rows) {
            const key = row[M.catalogKey]?.S;
            if (key !== undefined && key !== after) state.buffer.push({ key, row });
          }
          state.startKey = page.lastKey;
          state.done = page.lastKey === undefined;
        }),
      );
      continue;
    }
    // Take entries while every shard that may hold more has some buffered.
    for (;;) {
      let head: ShardState | undefined;
      for (const state of shards) {
        if (state.buffer.length === 0) {
          if (!state.done) {
            head = undefined;
            break;
          }
          continue;
        }
        if (!head || (state.buffer[0] as { key: string }).key < (head.buffer[0] as { key: string }).key) head = state;
      }
      if (!head) break;
      const { row } = head.buffer.shift() as { key: string; row: Row };
      const info = sessionInfoFrom(row, now);
      lastExamined = { updatedAt: num(row[M.updatedAt]) ?? 0, sessionId: row[PARTITION_KEY]?.S ?? '' };
      if (info && (query.metadata.length === 0 || metadataMatches(info.metadata, query.metadata))) {
        sessions.push(info);
        if (sessions.length === query.limit) {
          const more = shards.some((s) => !s.done || s.buffer.length > 0);
          return more ? { sessions, next: lastExamined } : { sessions };
        }
      }
    }
    if (shards.every((s) => s.done && s.buffer.length === 0)) return { sessions };
  }
}

/** A catalog entry from a metadata row (or its index projection); undefined when expired or not an entry. */
export function sessionInfoFrom(row: Row, now: number): SessionInfo | undefined {
  const sessionId = row[PARTITION_KEY]?.S;
  const updatedAt = num(row[M.updatedAt]);
  const expiresAtMs = num(row[M.expiresAtMs]);
  if (sessionId === undefined || updatedAt === undefined) return undefined;
  if (expiresAtMs !== undefined && expiresAtMs <= now) return undefined;
  return {
    sessionId,
    createdAt: new Date(num(row[M.createdAt]) ?? updatedAt),
    updatedAt: new Date(updatedAt),
    itemCount: num(row[M.itemCount]) ?? 0,
    metadata: decodeMetadata(row[M.labels]?.S),
    ...(expiresAtMs !== undefined && { expiresAt: new Date(expiresAtMs) }),
  };
}

/** The entry of a live metadata row whose item count is known. */
export function infoFromMeta(sessionId: string, meta: Meta & { itemCount: number }): SessionInfo {
  const updatedAt = meta.updatedAt ?? meta.createdAt ?? 0;
  return {
    sessionId,
    createdAt: new Date(meta.createdAt ?? updatedAt),
    updatedAt: new Date(updatedAt),
    itemCount: meta.itemCount,
    metadata: decodeMetadata(meta.labels),
    ...(meta.expiresAtMs !== undefined && { expiresAt: new Date(meta.expiresAtMs) }),
  };
}

/** A live session whose metadata row predates the catalog (no item count yet). */
export function needsCount(meta: Meta | undefined, now: number): meta is Meta & { generation: number } {
  return isLive(meta, now) && meta.itemCount === undefined;
}

/** Upgrades that lose to concurrent writes before one counts: then the write path counts for itself. */
const MAX_UPGRADE_ATTEMPTS = 10;

/**
 * Counts the history of a session written by a release before the catalog and stores the count
 * and the index keys on its metadata row (once: later writes keep the count up to date in their
 * own transactions). Returns the metadata as it is now.
 */
export async function upgradeSession(
  requests: SessionRequests,
  options: { keyBytes: number; tableName: string },
): Promise<Meta | undefined> {
  for (let attempt = 0; attempt < MAX_UPGRADE_ATTEMPTS; attempt++) {
    const { meta, items } = await readSnapshot(undefined, requests.chainPage, options);
    if (!needsCount(meta, Date.now())) return meta;
    const upgraded = await requests.upgradeMeta(meta, items.length);
    if (upgraded) return upgraded;
    assertBudget();
  }
  throw new Error(`the session changed during each of ${MAX_UPGRADE_ATTEMPTS} attempts to count its items`);
}

/** `getSessionInfo`: one consistent read of the metadata row (plus a count, once, for an old row). */
export async function readInfo(
  requests: SessionRequests,
  sessionId: string,
  options: { keyBytes: number; tableName: string },
): Promise<SessionInfo | undefined> {
  let meta = await requests.getMeta();
  if (needsCount(meta, Date.now())) meta = await upgradeSession(requests, options);
  if (!isLive(meta, Date.now()) || meta.itemCount === undefined) return undefined;
  return infoFromMeta(sessionId, meta as Meta & { itemCount: number });
}

/**
 * `deleteSession`: the metadata row becomes a tombstone (requests.ts: the session reads as gone
 * at once and leaves the index), then every older row and operation id is deleted.
 */
export async function removeSession(requests: SessionRequests): Promise<void> {
  const tombstone = await requests.tombstoneMeta(Date.now());
  if (tombstone) await requests.deleteCleared(tombstone);
}
