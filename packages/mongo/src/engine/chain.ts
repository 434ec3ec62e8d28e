import { SessionCorruptDataError } from '@sessions/core';
import { type CommitDoc, checkCommit, type PartRef } from './documents.js';
import { isExpired } from './expiry.js';

/** The first page asks for `need + 2` commits (at most this many), later pages for four times more. */
export const MAX_FIRST_PAGE = 100;
export const MAX_PAGE = 1000;

export interface ChainLink {
  doc: CommitDoc;
  /** Items `[from, count)` of this commit are in the requested window. */
  from: number;
}

/** What a walk read, before the overflow documents of its window are fetched. */
export interface ChainWalk {
  /** The newest commit, expired or not (undefined when the session has no documents). */
  head: CommitDoc | undefined;
  /** The head exists and has not expired. */
  live: boolean;
  /** Commits of the current history from the newest back, until the window is covered. */
  chain: ChainLink[];
  /** Every commit read, newest first, including superseded ones not yet deleted. */
  scanned: CommitDoc[];
  /** `scanned` holds every commit newer than the last link's `prev`. */
  covered: boolean;
}

export interface ChainRead extends ChainWalk {
  /** Overflow items fetched for the window, by part id. */
  parts: Map<string, string[]>;
}

/**
 * One query of the walk: the session's commits with `rev < below` (all when undefined), newest
 * first (`sort rev -1`, the unique index), at most `limit` of them (all when undefined).
 */
export interface PageQuery {
  below: number | undefined;
  limit: number | undefined;
  batchSize: number;
}

/** Answers a page query with raw documents (a `find` on the history collection, or an array in tests). */
export type FetchPage = (query: PageQuery) => Promise<readonly unknown[]>;

/**
 * Walks the chain from the newest commit along `prev` until `need` items are covered, in
 * pages sorted by `rev` descending. Commits not on the chain (replaced, awaiting deletion)
 * are skipped. If a linked commit is missing or already a tombstone, a concurrent writer
 * replaced it while we read: returns undefined and the caller reads again, so a reader always
 * sees one whole state of the history, never a mix. `forWrite` goes on reading down to the
 * last link's `prev`, so that a rewrite knows every commit it replaces.
 */
export async function walkChain(
  need: number,
  forWrite: boolean,
  fetchPage: FetchPage,
  clock: () => number = Date.now,
): Promise<ChainWalk | undefined> {
  const nothing = (head: CommitDoc | undefined): ChainWalk => ({
    head,
    live: false,
    chain: [],
    scanned: [],
    covered: true,
  });
  let head: CommitDoc | undefined;
  const chain: ChainLink[] = [];
  const scanned: CommitDoc[] = [];
  let expected = 0;
  let collected = 0;
  let done = false;
  let covered = false;
  let keepRev = 0;
  let below = Number.POSITIVE_INFINITY;
  let pageSize = Number.isFinite(need) ? Math.min(need + 2, MAX_FIRST_PAGE) : 0;
  while (!done) {
    const page = await fetchPage({
      below: Number.isFinite(below) ? below : undefined,
      limit: pageSize > 0 ? pageSize : undefined,
      batchSize: pageSize || MAX_PAGE,
    });
    const lastPage = pageSize === 0 || page.length < pageSize;
    for (const raw of page) {
      const doc = checkCommit(raw, true);
      below = doc.rev;
      if (head === undefined) {
        head = doc;
        if (isExpired(doc, clock())) return nothing(doc);
        expected = doc.rev;
      }
      if (done) {
        // Only for writes: look at what lies between the last link and its `prev`.
        if (doc.rev <= keepRev) {
          covered = true;
          break;
        }
        scanned.push(doc);
        continue;
      }
      scanned.push(doc);
      if (doc.rev > expected) continue;
      // Missing, or replaced and emptied while we read: the history moved on; read again.
      if (doc.rev < expected || doc.dead !== undefined) return undefined;
      const take = Math.min(doc.count, need - collected);
      chain.push({ doc, from: doc.count - take });
      collected += take;
      if (doc.prev === 0 || collected >= need) {
        done = true;
        keepRev = doc.prev;
        if (!forWrite) break;
      } else {
        expected = doc.prev;
      }
    }
    if (!done) {
      if (lastPage) return head === undefined ? nothing(undefined) : undefined;
      pageSize = Math.min(pageSize * 4, MAX_PAGE);
    } else if (lastPage) {
      covered = true;
    }
  }
  return { head, live: true, chain, scanned, covered };
}

/** The overflow documents holding the window's items, by id. */
export function wantedParts(chain: readonly ChainLink[]): Map<string, PartRef> {
  const wanted = new Map<string, PartRef>();
  for (const { doc, from } of chain) {
    let offset = 0;
    for (const ref of doc.parts ?? []) {
      if (offset + ref.n > from) wanted.set(ref.id.toHexString(), ref);
      offset += ref.n;
    }
  }
  return wanted;
}

/**
 * The fetched overflow items by part id, or undefined when one is gone (its commit was
 * replaced and cleaned up while we read: read again). A malformed one is corrupt data.
 */
export function matchParts(
  wanted: ReadonlyMap<string, PartRef>,
  fetched: readonly { _id: { toHexString(): string }; items: unknown }[],
): Map<string, string[]> | undefined {
  const parts = new Map<string, string[]>();
  for (const part of fetched) parts.set(part._id.toHexString(), part.items as string[]);
  for (const [key, ref] of wanted) {
    const items = parts.get(key);
    if (!items) return undefined;
    if (!Array.isArray(items) || items.length !== ref.n || items.some((text) => typeof text !== 'string')) {
      throw new SessionCorruptDataError(`An overflow document of this session is malformed (${key})`);
    }
  }
  return parts;
}

/** The window's items, oldest first. */
export function windowTexts(read: ChainRead): string[] {
  const out: string[] = [];
  for (let i = read.chain.length - 1; i >= 0; i--) {
    const { doc, from } = read.chain[i]!;
    out.push(...commitTexts(doc, from, doc.count, read.parts));
  }
  return out;
}

function commitTexts(doc: CommitDoc, from: number, to: number, parts: Map<string, string[]>): string[] {
  if (doc.items) return doc.items.slice(from, to);
  const out: string[] = [];
  let offset = 0;
  for (const ref of doc.parts ?? []) {
    const end = offset + ref.n;
    if (end > from && offset < to) {
      const items = parts.get(ref.id.toHexString())!;
      out.push(...items.slice(Math.max(0, from - offset), Math.min(ref.n, to - offset)));
    }
    offset = end;
  }
  return out;
}

/** What a rewrite keeps of the commit it cuts into: whole parts by reference, the rest as text. */
export function keptContent(cut: ChainLink, parts: Map<string, string[]>): { refs: PartRef[]; texts: string[] } {
  const { doc, from } = cut;
  if (from === 0) return { refs: [], texts: [] };
  if (doc.items) return { refs: [], texts: doc.items.slice(0, from) };
  const refs: PartRef[] = [];
  const texts: string[] = [];
  let offset = 0;
  for (const ref of doc.parts ?? []) {
    const end = offset + ref.n;
    if (end <= from) refs.push(ref);
    else if (offset < from) texts.push(...parts.get(ref.id.toHexString())!.slice(0, from - offset));
    offset = end;
  }
  return { refs, texts };
}

/**
 * The commits a rewrite cutting down to `keepRev` replaces, as far as the walk read them, and
 * the `rev` range still to fetch when the walk stopped before reaching `keepRev`.
 */
export function supersededBy(
  read: ChainWalk,
  keepRev: number,
): { known: CommitDoc[]; missing?: { above: number; below: number } } {
  const known = read.scanned.filter((doc) => doc.rev > keepRev);
  if (read.covered) return { known };
  return { known, missing: { above: keepRev, below: read.scanned.at(-1)!.rev } };
}
