/**
 * What a refused write means. Decisions about history transactions are core's
 * `TransactionVerdict` strings, which the session settles with core's `settleTransaction`.
 */
import type { TransactionVerdict } from '@sessions/core';
import { operationCutoff } from './expiry.js';
import { A, isLive, type Meta, num, parseMeta, type Row } from './layout.js';
import { errorName, RETRYABLE_REASONS } from './retry.js';

/** The history transaction a write carries: its id and fingerprint are recorded with it. */
export interface OperationRecord {
  id: string;
  fingerprint: string;
}

/** The operation id is recorded already: the verdicts a commit can meet instead of applying. */
export type RecordedVerdict = Extract<TransactionVerdict, 'replayed' | 'operation_id_reused'>;

export type TransactionOutcome =
  | { kind: 'committed'; overflow: number[] }
  /** Another write changed the metadata first; it is what won. */
  | { kind: 'meta-changed'; meta: Meta | undefined }
  | { kind: 'recorded'; verdict: RecordedVerdict }
  /** Refused for load (throttling, a conflicting transaction), not for its conditions. */
  | { kind: 'busy' };

/** A recorded id with `fingerprint`: the same transaction again, or another one under its id. */
export function recordedVerdict(fingerprint: string, operation: OperationRecord): RecordedVerdict {
  return fingerprint === operation.fingerprint ? 'replayed' : 'operation_id_reused';
}

/**
 * The outcome of a `TransactWriteItems` that threw `error`, or undefined when the error is not a
 * cancellation this engine handles (the caller rethrows it). Action 0 is always the metadata put
 * and action 1 the operation-id put when the write carries `operation`.
 */
export function cancelledOutcome(
  error: unknown,
  operation: OperationRecord | undefined,
): TransactionOutcome | undefined {
  if (errorName(error) !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string; Item?: Row }[] }).CancellationReasons ?? [];
  if (reasons[0]?.Code === 'ConditionalCheckFailed') return { kind: 'meta-changed', meta: parseMeta(reasons[0].Item) };
  if (operation && reasons[1]?.Code === 'ConditionalCheckFailed') {
    return { kind: 'recorded', verdict: recordedVerdict(reasons[1].Item?.[A.fingerprint]?.S ?? '', operation) };
  }
  if (reasons.some((reason) => RETRYABLE_REASONS.has(reason.Code ?? ''))) return { kind: 'busy' };
  return undefined;
}

/**
 * The expected suffix was not found. From one serializable read of the metadata and the
 * operation-id row: a live record of this id in this generation decides (`replayed` or
 * `operation_id_reused`, so a retry of an applied transaction succeeds); otherwise, if the
 * metadata is still the version the suffix was read under, `suffix_mismatch`. Undefined: the
 * history changed between the two reads, so read it again.
 */
export function mismatchVerdict(args: {
  meta: Meta | undefined;
  recorded: Row | undefined;
  operation: OperationRecord;
  /** Metadata version of the read that did not find the suffix. */
  readVersion: number | undefined;
  now: number;
}): TransactionVerdict | undefined {
  const { meta, recorded, operation, now } = args;
  if (recorded && isLive(meta, now)) {
    const fresh = (num(recorded[A.recordedAt]) ?? 0) > operationCutoff(now);
    if (fresh && num(recorded[A.generation]) === meta.generation) {
      return recordedVerdict(recorded[A.fingerprint]?.S ?? '', operation);
    }
  }
  return meta?.version === args.readVersion ? 'suffix_mismatch' : undefined;
}
