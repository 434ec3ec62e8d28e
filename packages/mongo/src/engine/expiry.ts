import { type CommitDoc, TOMBSTONE_GRACE_MS } from './documents.js';

/** A new commit's physical expiry is at least this much later than any older document's. */
export const EXPIRY_STEP_MS = 1;

export interface ExpiryPlan {
  fields: Pick<CommitDoc, 'until' | 'expiresAt' | 'floor'>;
  /** Before the commit: slide (or remove) the physical expiry of the session's other documents. */
  bump?: ExpiryBump;
}

export type ExpiryBump = { unset: true } | { below: Date; to: Date };

/**
 * A head reads as empty once its `until` has passed, and always when it is a tombstone: a
 * tombstone is only ever the newest document when the TTL index removed the head above it,
 * which happens after that head expired.
 */
export function isExpired(doc: CommitDoc, now: number): boolean {
  return doc.dead !== undefined || (doc.until instanceof Date && doc.until.getTime() <= now);
}

/** What a replaced commit becomes: item-less, expired (`until` in 1970), deleted after the grace. */
export function tombstoneFields(now: number): Pick<CommitDoc, 'count' | 'dead' | 'until' | 'expiresAt'> {
  return { count: 0, dead: new Date(now), until: new Date(0), expiresAt: new Date(now + TOMBSTONE_GRACE_MS) };
}

/** Physical expiry of overflow documents written now: they may serve two ttl windows of commits. */
export function partsExpiry(ttl: number | undefined, now: number): Date | undefined {
  return ttl === undefined ? undefined : new Date(now + 2 * ttl);
}

/**
 * Expiry of a new commit. `until` is the logical expiry (now + ttl, checked by readers); the
 * TTL index deletes at `expiresAt` ≥ until + ttl. Two rules keep the TTL index from ever
 * exposing stale items:
 * - Older documents of the chain (`rest`) must not be deleted before `until`: `floor` tracks
 *   their lowest `expiresAt`, and when it falls short they are all pushed up first (`bump`),
 *   at most about once per ttl/2.
 * - No older commit may outlive the new one, or removing the new head would make an older one
 *   the head again (with a `until` of its own, from a store with a longer ttl). So `expiresAt`
 *   is also later than the current head's (which, by this same rule, is the latest of the
 *   session's live commits), the bump stays below it, and a head without any `expiresAt`
 *   (written without ttl) gets every document of the session bumped. The TTL index deletes
 *   in `expiresAt` order, so older documents always go first. Tombstones are exempt: they
 *   read as expired whenever they become the head.
 * `head` is the newest commit, whatever its state; `rest` the head when the chain goes on
 * through it; `ownParts` the expiry of overflow documents written for the new commit.
 */
export function planExpiry(
  ttl: number | undefined,
  now: number,
  head: CommitDoc | undefined,
  rest: CommitDoc | undefined,
  ownParts: Date | undefined,
): ExpiryPlan {
  if (ttl === undefined) {
    const expiring = rest && (rest.until || rest.expiresAt || rest.floor);
    return { fields: {}, ...(expiring ? { bump: { unset: true } } : {}) };
  }
  const until = now + ttl;
  const latest = head?.expiresAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  const expiresAt = Math.max(until + ttl, latest + EXPIRY_STEP_MS);
  let floor = Number.POSITIVE_INFINITY;
  if (rest) {
    floor =
      rest.until === undefined
        ? Number.NEGATIVE_INFINITY
        : Math.min(rest.floor?.getTime() ?? Number.POSITIVE_INFINITY, rest.expiresAt?.getTime() ?? until);
  }
  // Documents written without ttl never expire: give them an expiry below ours.
  if (head && head.dead === undefined && head.expiresAt === undefined) floor = Number.NEGATIVE_INFINITY;
  if (ownParts) floor = Math.min(floor, ownParts.getTime());
  let bump: ExpiryBump | undefined;
  if (floor < until) {
    const below = until + ttl / 2;
    const to = Math.max(until, expiresAt - EXPIRY_STEP_MS);
    bump = { below: new Date(below), to: new Date(to) };
    floor = Math.min(below, to);
  }
  return {
    fields: {
      until: new Date(until),
      expiresAt: new Date(expiresAt),
      ...(Number.isFinite(floor) ? { floor: new Date(floor) } : {}),
    },
    ...(bump ? { bump } : {}),
  };
}
