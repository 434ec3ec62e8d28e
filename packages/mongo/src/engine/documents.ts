import { DEFAULT_OPERATION_RETENTION_SECONDS, SessionCorruptDataError } from '@sessions/core';
import type { ObjectId } from 'mongodb';

/** Database used when the store or session is built from a URL or a client. */
export const DEFAULT_DATABASE = 'agent_sessions';
/** First part of both collection names (`agent_history`, `agent_history_parts`). */
export const DEFAULT_COLLECTION_PREFIX = 'agent_';

/** MongoDB's BSON document limit (`maxBsonObjectSize`); the server refuses anything larger. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/**
 * Largest encoded item: one item alone in an overflow document must fit under the document
 * limit with its `_id`, a 512-byte session id, the array header and two dates (≤ 600 bytes).
 */
export const MAX_ITEM_BYTES = MAX_DOCUMENT_BYTES - 1024;

/**
 * How long a replaced commit stays as an item-less tombstone before it is deleted. On MongoDB
 * the guarded upsert alone makes a freed `rev` impossible to take again; the grace covers
 * servers (FerretDB) whose upsert is not one atomic step.
 */
export const TOMBSTONE_GRACE_MS = 60_000;

/**
 * Overflow documents this old that no commit links to were left by a writer that died between
 * writing them and its commit; a clear or compaction of the session deletes them. (A writer
 * links its overflow documents within seconds; a day leaves any stalled writer ample room.)
 */
export const ORPHAN_PART_AGE_MS = 24 * 60 * 60 * 1000;

/** Operation ids older than this are forgotten (they only guard retries). */
export const RETENTION_MS = DEFAULT_OPERATION_RETENTION_SECONDS * 1000;

/** One remembered `applyHistoryTransaction` operation id. */
export interface OperationRecord {
  id: string;
  fp: string;
  at: Date;
}

/** A reference from a commit to an overflow document holding `n` of its items, in order. */
export interface PartRef {
  id: ObjectId;
  n: number;
}

/**
 * One commit of a session's history log (collection `<prefix>history`). A commit is written
 * once, by a guarded upsert that inserts it only while no commit at or above its `rev` exists
 * (with the unique index on `(sessionId, rev)`, that is the only concurrency control). It is
 * never changed to alter a history; what happens to it later is bookkeeping readers do not
 * depend on: its `expiresAt` slides (`$max`, or `$unset` by a write without ttl), and once a
 * later commit has replaced it, it is emptied into a tombstone (items, parts, ops and floor
 * removed, `dead` set) and deleted after the grace.
 */
export interface CommitDoc {
  sessionId: string;
  /** 1, 2, 3…: a commit is `head.rev + 1`; two writers racing for it get one E11000. */
  rev: number;
  /** `rev` of the commit holding the items just before these ones, 0 when the chain starts here. */
  prev: number;
  /** `rev` of the commit that started this history (clear or first write after expiry). */
  base: number;
  /** Number of items held here (inline or in parts). */
  count: number;
  /** The items as canonical JSON text, when they fit in this document. */
  items?: string[];
  /** Otherwise the overflow documents holding them, in order. */
  parts?: PartRef[];
  /** Operation ids recorded by this commit or carried over from the commits it replaced. */
  ops?: OperationRecord[];
  /** When this commit was written (writer's clock). */
  at: Date;
  /** Logical expiry: the session reads as empty from then on (only the head's counts). */
  until?: Date;
  /** Physical expiry for the TTL index (later than `until`, slid forward while the session lives). */
  expiresAt?: Date;
  /** Lowest physical expiry among the other documents the chain needs (absent: none expire). */
  floor?: Date;
  /**
   * Set when a later commit replaced this one: its items are gone, and the document only keeps
   * its `rev` taken for a while (see `TOMBSTONE_GRACE_MS`) before it is deleted.
   */
  dead?: Date;
  // The catalog rides on the commit: the head alone says what the session is, so the count
  // changes in the same single-document write as the items (no transaction needed). Commits
  // of the previous release lack these fields; they are computed on first touch (catalog.ts).
  /** Items of the whole history after this commit. */
  total?: number;
  /** The session's first write (of items or metadata). */
  created?: Date;
  /** The session's metadata as canonical JSON text (absent: none). */
  meta?: string;
  /** Version of `meta`, counted by metadata writes (absent: 0). */
  metaV?: number;
}

/**
 * The session's entry in the listing (collection `<prefix>sessions`, `_id` the session id):
 * only a *position* (`at`, `_id`) and what a page filters on, copied from the head commit
 * right after it lands (guarded by `rev`, so an older copy never overwrites a newer one).
 * Counts and metadata are read from the heads, so a page is exact even when a copy lags.
 */
export interface CatalogDoc {
  _id: string;
  /** `rev` of the commit this copy was made from. */
  rev: number;
  /** The head's `at`: the session's `updatedAt`, the listing's sort key with `_id`. */
  at: Date;
  /** Logical expiry, so that a page skips expired sessions in the query. */
  until?: Date;
  /** Physical expiry for the TTL index, as the head's. */
  expiresAt?: Date;
  /** Top-level metadata entries with a string, number or boolean value, as `JSON.stringify([key, value])`. */
  mf?: string[];
}

/** An overflow document (collection `<prefix>history_parts`): items of one commit that did not fit inline. */
export interface PartDoc {
  _id: ObjectId;
  sessionId: string;
  items: string[];
  at: Date;
  expiresAt?: Date;
}

export function isOperationRecord(op: unknown): op is OperationRecord {
  const record = op as OperationRecord;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record.id === 'string' &&
    typeof record.fp === 'string' &&
    record.at instanceof Date
  );
}

const isCount = (value: unknown, min: number): value is number =>
  Number.isSafeInteger(value) && (value as number) >= min;

/** Refuses documents this package did not write (or that were damaged) instead of guessing. */
export function checkCommit(raw: unknown, withItems: boolean): CommitDoc {
  const doc = raw as CommitDoc;
  let ok =
    isCount(doc.rev, 1) &&
    isCount(doc.prev, 0) &&
    doc.prev < doc.rev &&
    isCount(doc.base, 1) &&
    isCount(doc.count, 0) &&
    (doc.until === undefined || doc.until instanceof Date);
  if (ok && withItems) {
    if (doc.items === undefined && doc.parts === undefined) {
      ok = doc.count === 0;
    } else if (Array.isArray(doc.items)) {
      ok = doc.items.length === doc.count && doc.items.every((text) => typeof text === 'string');
    } else {
      ok =
        Array.isArray(doc.parts) &&
        doc.parts.every((ref) => typeof ref?.id?.toHexString === 'function' && isCount(ref.n, 1)) &&
        doc.parts.reduce((sum, ref) => sum + ref.n, 0) === doc.count;
    }
  }
  if (!ok) throw new SessionCorruptDataError(`A stored commit of this session is malformed (rev ${String(doc.rev)})`);
  return doc;
}
