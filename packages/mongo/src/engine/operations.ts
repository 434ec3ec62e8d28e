import type { TransactionVerdict } from '@sessions/core';
import { BSON } from 'mongodb';
import {
  type CommitDoc,
  isOperationRecord,
  MAX_DOCUMENT_BYTES,
  type OperationRecord,
  RETENTION_MS,
} from './documents.js';

/** A transaction's operation id and the fingerprint of what it does. */
export interface Operation {
  id: string;
  fp: string;
}

/** The newest commit recording an operation id, as the `sessionId_ops.id` index finds it. */
export interface FoundOperation {
  rev: number;
  record: OperationRecord;
}

/**
 * What the operation-id lookup means for a transaction about to be written:
 * - `replayed` / `operation_id_reused`: final verdicts, nothing is written;
 * - `unrecorded`: not in the current history (or forgotten): go on with the write;
 * - `ahead_of_head`: recorded by a commit newer than the head this attempt read: read again.
 */
export type OperationLookup =
  | Extract<TransactionVerdict, 'replayed' | 'operation_id_reused'>
  | 'unrecorded'
  | 'ahead_of_head';

/**
 * BSON bytes the operation ids carried over into a commit may take (every id within retention;
 * if they do not fit, the newest that do). The remaining 1 MiB of the document is ample for its
 * other fields and its overflow links (about 36 bytes per 16 MiB of items).
 */
export const MAX_CARRIED_OPERATION_BYTES = MAX_DOCUMENT_BYTES - 1024 * 1024;

/**
 * Classifies `found` (the newest commit recording `operation.id`) against the live head read
 * just before the lookup; `head` is undefined when the session is empty or expired.
 */
export function lookUpOperation(
  found: FoundOperation | undefined,
  head: CommitDoc | undefined,
  operation: Operation,
  now: number,
): OperationLookup {
  if (!found || !head) return 'unrecorded';
  if (found.rev > head.rev) return 'ahead_of_head';
  if (found.rev < head.base || now - found.record.at.getTime() >= RETENTION_MS) return 'unrecorded';
  return found.record.fp === operation.fp ? 'replayed' : 'operation_id_reused';
}

/** The record of `operationId` in a commit found by the lookup query, if it really holds one. */
export function findRecord(doc: Pick<CommitDoc, 'rev' | 'ops'> | undefined, id: string): FoundOperation | undefined {
  const record = doc?.ops?.find((op) => isOperationRecord(op) && op.id === id);
  return doc && record ? { rev: doc.rev, record } : undefined;
}

/** Operation ids of the replaced commits (current history, within retention) plus the new one. */
export function carryOperations(
  docs: CommitDoc[],
  base: number,
  now: number,
  added: OperationRecord | undefined,
): OperationRecord[] | undefined {
  const byId = new Map<string, OperationRecord>();
  for (const doc of docs) {
    if (doc.rev < base || !Array.isArray(doc.ops)) continue;
    for (const op of doc.ops) {
      if (!isOperationRecord(op) || now - op.at.getTime() >= RETENTION_MS) continue;
      const seen = byId.get(op.id);
      if (!seen || seen.at < op.at) byId.set(op.id, { id: op.id, fp: op.fp, at: op.at });
    }
  }
  if (added) byId.delete(added.id);
  const carried = [...byId.values()];
  // Newest first, the new record ahead of all; keep as many as fit in the byte budget.
  carried.sort((a, b) => b.at.getTime() - a.at.getTime());
  const ordered = added ? [added, ...carried] : carried;
  let size = BSON.calculateObjectSize({ ops: [] });
  let kept = 0;
  for (const op of ordered) {
    // An array element: type byte, decimal index + NUL, then the embedded document.
    size += 1 + String(kept).length + 1 + BSON.calculateObjectSize(op);
    if (size > MAX_CARRIED_OPERATION_BYTES) break;
    kept++;
  }
  const ops = ordered.slice(0, kept);
  return ops.length > 0 ? ops : undefined;
}
