/**
 * Reading a history: the walk down the chain from the metadata row, over pages of one
 * descending Query (`sk BETWEEN "i#" AND "m"`). The pages come from a callback, so the walk has
 * no I/O of its own and the tests can feed it any page sequence.
 */
import { SessionCorruptDataError } from '@sessions/core';
import { budgetExpired } from './deadline.js';
import { A, isLive, META_SK, type Meta, num, parseMeta, ROW_OVERHEAD, type Row, SORT_KEY, seqOf } from './layout.js';
import { backoff, sleep } from './retry.js';

/** A chain row a write may delete, with an upper bound of its size (for the transaction budget). */
export interface Deletion {
  seq: number;
  bytes: number;
}

/** One conversation item as read from the chain. */
export interface ChainItem {
  text: string;
  /** Every chain row of the item (its chunks and any batch header right above it). */
  rows: Deletion[];
  /** The chain row below the item, or -1. */
  prev: number;
}

export interface Snapshot {
  meta: Meta | undefined;
  /** Newest first. */
  items: ChainItem[];
}

/** A walk that met a write half-applied; `version` is the metadata version it saw. */
export interface Inconsistent {
  inconsistent: true;
  version: number | undefined;
}

export interface ChainPage {
  /** Rows in descending sort-key order (the first page starts with the metadata row, if any). */
  rows: Row[];
  /** Where the next page starts; undefined after the last page. */
  lastKey: Row | undefined;
}

/** Fetches one page; `limit` undefined means as many as fit (DynamoDB stops a page at 1 MB). */
export type FetchChainPage = (limit: number | undefined, startKey: Row | undefined) => Promise<ChainPage>;

/** DynamoDB's `Limit` must stay in range; a page stops at 1 MB anyway. */
const MAX_PAGE_LIMIT = 1_000_000;
/** Reads that caught a write half-applied read again this many times. */
export const MAX_READ_ATTEMPTS = 12;

/**
 * The newest `limit` items (all when undefined) of the history the first page's metadata row
 * describes. The chain from `top` is followed through `p` links; rows off the chain are skipped.
 * A missing link or a row of another generation means a write was being applied while we read
 * (DynamoDB's Query is only read-committed per item): the result is then `Inconsistent`.
 * `keyBytes` is the size of a row's key, for the deletion budget.
 */
export async function walkChain(
  limit: number | undefined,
  fetchPage: FetchChainPage,
  keyBytes: number,
  now: () => number = Date.now,
): Promise<Snapshot | Inconsistent> {
  const items: ChainItem[] = [];
  let meta: Meta | undefined;
  let expected = -1;
  let pending: { pieces: string[]; rows: Deletion[]; k: number; n: number } | undefined;
  let headers: Deletion[] = [];
  let startKey: Row | undefined;
  let first = true;
  for (;;) {
    let pageLimit: number | undefined;
    if (limit !== undefined) {
      const itemsLeft = limit - items.length - (pending ? 1 : 0);
      const wanted = (first ? 1 : 0) + itemsLeft + (pending ? pending.k : 0);
      pageLimit = Math.min(MAX_PAGE_LIMIT, Math.max(1, wanted));
    }
    const page = await fetchPage(pageLimit, startKey);
    const rows = page.rows;
    let i = 0;
    if (first) {
      first = false;
      const head = rows[0];
      if (head?.[SORT_KEY]?.S !== META_SK) return { meta: undefined, items: [] };
      meta = parseMeta(head) as Meta;
      if (!isLive(meta, now()) || meta.top < 0) return { meta, items: [] };
      expected = meta.top;
      i = 1;
    }
    const inconsistent: Inconsistent = { inconsistent: true, version: meta?.version };
    for (; i < rows.length; i++) {
      const row = rows[i] as Row;
      const seq = seqOf(row[SORT_KEY]?.S ?? '');
      if (seq > expected) continue; // not on the chain (replaced, or not linked yet)
      const prev = num(row[A.prev]);
      if (seq < expected || num(row[A.generation]) !== meta?.generation || prev === undefined || prev >= seq) {
        return inconsistent;
      }
      expected = prev;
      const text = row[A.text]?.S;
      if (text === undefined) {
        if (row[A.header]?.BOOL !== true || pending) return inconsistent;
        headers.push({ seq, bytes: keyBytes + ROW_OVERHEAD });
      } else {
        const count = num(row[A.chunkCount]) ?? 1;
        const index = num(row[A.chunkIndex]) ?? 0;
        const deletion = { seq, bytes: text.length * 3 + keyBytes + ROW_OVERHEAD };
        if (pending) {
          if (count !== pending.n || index !== pending.k - 1) return inconsistent;
          pending.pieces.push(text);
          pending.rows.push(deletion);
          pending.k = index;
        } else {
          if (index !== count - 1) return inconsistent;
          pending = { pieces: [text], rows: [...headers, deletion], k: index, n: count };
          headers = [];
        }
        if (index === 0) {
          items.push({ text: pending.pieces.reverse().join(''), rows: pending.rows, prev });
          pending = undefined;
        }
      }
      if (expected === -1 && pending) return inconsistent;
      if (expected === -1 || (limit !== undefined && items.length >= limit && !pending)) {
        return { meta, items };
      }
    }
    if (!page.lastKey) return inconsistent; // the chain points below the last row
    startKey = page.lastKey;
  }
}

/**
 * {@link walkChain} until it sees one consistent state (a write half-applied is gone a few ms
 * later). When every walk stopped at the same metadata version, the chain is broken for good:
 * `SessionCorruptDataError`, never a shorter history. When the version kept changing, writers
 * kept the reader from ever finishing: a plain error the session reports under its public name.
 */
export async function readSnapshot(
  limit: number | undefined,
  fetchPage: FetchChainPage,
  options: {
    keyBytes: number;
    tableName: string;
    now?: () => number;
    pause?: (ms: number) => Promise<void>;
    /** True once the call's deadline has passed: no further read (default: the call's budget). */
    expired?: () => boolean;
  },
): Promise<Snapshot> {
  const pause = options.pause ?? sleep;
  const expired = options.expired ?? budgetExpired;
  const versions: (number | undefined)[] = [];
  for (let attempt = 0; ; attempt++) {
    const result = await walkChain(limit, fetchPage, options.keyBytes, options.now);
    if (!('inconsistent' in result)) return result;
    versions.push(result.version);
    if (attempt + 1 >= MAX_READ_ATTEMPTS) {
      if (versions.slice(-4).every((v) => v === result.version)) {
        throw new SessionCorruptDataError(
          `The history of this session is inconsistent: a row its metadata links to is missing or malformed (table ${options.tableName})`,
        );
      }
      throw new Error(`the session changed during each of ${MAX_READ_ATTEMPTS} reads`);
    }
    if (expired()) {
      throw Object.assign(new Error(`the deadline passed during read ${attempt + 1} (a write was being applied)`), {
        name: 'TimeoutError',
      });
    }
    await pause(backoff(attempt, 5, 250));
  }
}

/** True when the newest items (`items`, newest first) are `expected` (oldest first). */
export function matchesSuffix(items: readonly ChainItem[], expected: readonly string[]): boolean {
  const count = expected.length;
  if (items.length < count) return false;
  for (let i = 0; i < count; i++) {
    if ((items[count - 1 - i] as ChainItem).text !== expected[i]) return false;
  }
  return true;
}
