/**
 * Expiry arithmetic. A session expires `ttlSeconds` after its last write: the metadata row holds
 * the exact read-time expiry (`expiresAtMs`); DynamoDB's own TTL (`expiresAt`, epoch seconds),
 * which only deletes rows physically and days late, is set well past it so that it never
 * removes a live row. No I/O here: every function takes `now` (epoch ms).
 */
import { DEFAULT_OPERATION_RETENTION_SECONDS } from '@sessions/core';
import { isLive, type Meta, type MetaState } from './layout.js';

/**
 * Rows carry a DynamoDB TTL this long past the session's own expiry (at least one day, at
 * least the TTL itself), so that sliding the expiry on every write rarely has to touch old rows.
 */
export const ROW_TTL_SLACK_SECONDS = 86_400;
/** Old rows are re-stamped when their TTL would come within this margin of the session's expiry. */
export const ROW_TTL_MARGIN_SECONDS = 3_600;

export interface Expiry {
  /** When reads start to see the session as empty (epoch ms). */
  expiresAtMs: number;
  /** The DynamoDB TTL rows written now carry (epoch seconds). */
  rowExpiresAt: number;
}

/** The expiry of a write at `now`, or undefined when sessions never expire. */
export function expiryAt(ttlSeconds: number | undefined, now: number): Expiry | undefined {
  if (ttlSeconds === undefined) return undefined;
  const expiresAtMs = now + Math.ceil(ttlSeconds * 1000);
  const slack = Math.max(Math.ceil(ttlSeconds), ROW_TTL_SLACK_SECONDS);
  return { expiresAtMs, rowExpiresAt: Math.ceil(expiresAtMs / 1000) + slack };
}

/** What a write changes in the metadata. */
export interface MetaChange {
  generation: number;
  top: number;
  nextSeq: number;
  /** The newest row of the old history the write keeps (-1: none). */
  kept: number;
  /** Whether the write puts rows of its own (they carry the new TTL). */
  writesRows: boolean;
  /** Items on the chain after the write (written in the same transaction as the chain). */
  itemCount: number;
  /** New user metadata (text, '' for none); absent: kept, unless the session expired. */
  labels?: string;
}

/**
 * The metadata after a write: version, TTL slid from `now`, the rows' TTL floor. `refresh` says
 * the kept rows must be stamped again before the write commits (their TTL would delete them
 * before the session expires, or at all when this handle keeps sessions forever); the floor in
 * `state` already counts on it.
 */
export function nextMeta(
  base: Meta | undefined,
  now: number,
  change: MetaChange,
  ttlSeconds: number | undefined,
): { state: MetaState; refresh: boolean } {
  const expiry = expiryAt(ttlSeconds, now);
  const floor = change.kept >= 0 ? base?.rowsExpireAt : undefined;
  const refresh =
    floor !== undefined &&
    (expiry === undefined || floor < Math.ceil(expiry.expiresAtMs / 1000) + ROW_TTL_MARGIN_SECONDS);
  // Stamped rows carry the new TTL (the margin covers rows staged or stamped a little earlier).
  const keptFloor = refresh && expiry ? expiry.rowExpiresAt - ROW_TTL_MARGIN_SECONDS : refresh ? undefined : floor;
  const newFloor = change.writesRows ? expiry?.rowExpiresAt : undefined;
  const rowsExpireAt =
    keptFloor === undefined ? newFloor : newFloor === undefined ? keptFloor : Math.min(keptFloor, newFloor);
  const keepsCreation = base?.generation === change.generation && base.createdAt !== undefined;
  // An expired (or deleted) session's metadata went with it; a new one starts empty.
  const live = isLive(base, now);
  const labelsVersion = live ? base.labelsVersion : 0;
  const state: MetaState = {
    version: (base?.version ?? 0) + 1,
    generation: change.generation,
    top: change.top,
    nextSeq: change.nextSeq,
    createdAt: keepsCreation ? (base.createdAt as number) : now,
    // Never backwards on the same history (another process's clock may be a little behind).
    updatedAt: live ? Math.max(now, base.updatedAt ?? 0) : now,
    expiresAtMs: expiry?.expiresAtMs,
    expiresAt: expiry?.rowExpiresAt,
    rowsExpireAt,
    itemCount: change.itemCount,
    labels: change.labels ?? (live ? base.labels : ''),
    labelsVersion: change.labels === undefined ? labelsVersion : labelsVersion + 1,
  };
  return { state, refresh };
}

/**
 * A generation newer than any the metadata row has seen (time based, so it also beats rows left
 * from before the row was deleted).
 */
export function freshGeneration(meta: Meta | undefined, now: number): number {
  return meta?.generation === undefined ? now : Math.max(meta.generation + 1, now);
}

/** DynamoDB TTL of an operation-id row recorded at `now`. */
export function operationExpiresAt(now: number): number {
  return Math.ceil(now / 1000) + DEFAULT_OPERATION_RETENTION_SECONDS;
}

/** Operation ids recorded before this instant are forgotten (the retention window). */
export function operationCutoff(now: number): number {
  return now - DEFAULT_OPERATION_RETENTION_SECONDS * 1000;
}
