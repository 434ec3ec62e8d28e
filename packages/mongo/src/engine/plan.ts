/**
 * Write planning: from what an attempt read, which commit each write puts down (no I/O). The
 * writer then stores the commit's items inline or in overflow documents, slides expiry, tries
 * the guarded upsert and, once it won, cleans up what the commit replaced.
 */

import type { CatalogFields } from './catalog.js';
import { type ChainRead, keptContent, windowTexts } from './chain.js';
import type { CommitDoc, OperationRecord, PartRef } from './documents.js';
import { type ExpiryPlan, isExpired } from './expiry.js';
import { carryOperations, type Operation } from './operations.js';
import { fitsInline } from './parts.js';

export interface WritePlan {
  /** `head.rev + 1`: the guarded upsert takes it only if no commit at or above it exists. */
  rev: number;
  /** The commit holding the items just before these (0: this commit starts the chain). */
  prev: number;
  /** The commit that started this history. */
  base: number;
  /** Items the commit holds itself (inline, or in overflow documents written for it). */
  texts: string[];
  /** Overflow documents of the commit it cuts into, linked again: its items before `texts`. */
  keptRefs: PartRef[];
  /** Operation ids the commit records. */
  ops?: OperationRecord[];
  /** The head, when the new chain goes on through it (its older documents must outlive us). */
  rest?: CommitDoc;
  /** After the commit: empty the commits in `(keepRev, rev)` and drop the overflow only they used. */
  cleanup?: Cleanup;
}

export interface Cleanup {
  keepRev: number;
  /** The replaced commits, when the read already has them (otherwise they are looked up). */
  known?: CommitDoc[];
}

/** A batch (or an `append_items` transaction, recording its id) on top of the head. */
export function planAppend(
  head: CommitDoc | undefined,
  now: number,
  texts: string[],
  operation: Operation | undefined,
): WritePlan {
  const live = head !== undefined && !isExpired(head, now);
  const rev = (head?.rev ?? 0) + 1;
  // An empty head (after a pop or a clear) is skipped: chains only link commits with items.
  const prev = live ? (head.count > 0 ? head.rev : head.prev) : 0;
  return {
    rev,
    prev,
    base: live ? head.base : rev,
    texts,
    keptRefs: [],
    ...(operation ? { ops: [{ id: operation.id, fp: operation.fp, at: new Date(now) }] } : {}),
    ...(live && prev !== 0 ? { rest: head } : {}),
    // The first write after expiry started a new history: delete the expired one.
    ...(head && !live ? { cleanup: { keepRev: 0 } } : {}),
  };
}

/**
 * The newest `size` items of a live history, if it has that many and they equal `expected`
 * (a transaction's suffix; a pop expects nothing in particular); undefined otherwise.
 */
export function matchTail(
  read: ChainRead,
  size: number,
  expected: readonly string[] | undefined,
): string[] | undefined {
  if (!read.live) return undefined;
  const tail = windowTexts(read);
  if (tail.length < size || (expected && tail.some((text, i) => text !== expected[i]))) return undefined;
  return tail;
}

/**
 * A pop or `replace_suffix`: one commit holding what is kept of the commit the tail starts in
 * plus `replacement`, linked to that commit's `prev`. `superseded`: every commit it replaces,
 * whose operation ids it carries over.
 */
export function planRewrite(
  read: ChainRead,
  superseded: CommitDoc[],
  replacement: string[],
  operation: Operation | undefined,
  now: number,
): WritePlan {
  const head = read.head!;
  const cut = read.chain.at(-1)!;
  const keepRev = cut.doc.prev;
  const kept = keptContent(cut, read.parts);
  const ops = carryOperations(superseded, head.base, now, operation && { ...operation, at: new Date(now) });
  return {
    rev: head.rev + 1,
    prev: keepRev,
    base: head.base,
    texts: [...kept.texts, ...replacement],
    keptRefs: kept.refs,
    ...(ops ? { ops } : {}),
    ...(keepRev !== 0 || kept.refs.length > 0 ? { rest: head } : {}),
    cleanup: { keepRev, known: superseded },
  };
}

/**
 * A compaction: a new chain (`prev: 0`) in the same history, carrying the recorded operation
 * ids of `withOperations` (commits that have some). Nothing to do on an empty session.
 */
export function planCompaction(
  head: CommitDoc | undefined,
  withOperations: CommitDoc[],
  items: string[],
  now: number,
): WritePlan | undefined {
  if (!head && items.length === 0) return undefined;
  const live = head !== undefined && !isExpired(head, now);
  const rev = (head?.rev ?? 0) + 1;
  const base = live ? head.base : rev;
  const ops = live ? carryOperations(withOperations, base, now, undefined) : undefined;
  return { rev, prev: 0, base, texts: items, keptRefs: [], ...(ops ? { ops } : {}), cleanup: { keepRev: 0 } };
}

/**
 * A clear: an empty marker starting a new history (recorded ids forgotten). It is written even
 * on a session already cleared, since a clear moves `updatedAt` like any write; never on a
 * session without a live history (nothing to clear, and no catalog entry to create).
 */
export function planClear(head: CommitDoc | undefined, now: number): WritePlan | undefined {
  if (!head || isExpired(head, now)) return undefined;
  const rev = head.rev + 1;
  return { rev, prev: 0, base: rev, texts: [], keptRefs: [], cleanup: { keepRev: 0 } };
}

/** The commit holds its items in overflow documents when it links some again or they do not fit. */
export function needsParts(sessionId: string, plan: WritePlan): boolean {
  return plan.keptRefs.length > 0 || !fitsInline(sessionId, plan.texts, plan.ops);
}

/** The commit document of `plan`, with its items (`content`), expiry and catalog fields. */
export function buildCommit(
  sessionId: string,
  plan: WritePlan,
  content: Pick<CommitDoc, 'items' | 'parts'>,
  now: number,
  expiry: ExpiryPlan['fields'],
  catalog?: CatalogFields,
): CommitDoc {
  return {
    sessionId,
    rev: plan.rev,
    prev: plan.prev,
    base: plan.base,
    count: plan.texts.length + plan.keptRefs.reduce((sum, ref) => sum + ref.n, 0),
    ...content,
    ...(plan.ops ? { ops: plan.ops } : {}),
    at: new Date(now),
    ...expiry,
    ...catalog,
  };
}
