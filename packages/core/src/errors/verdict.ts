import { SessionConflictError } from './session-errors.js';

/**
 * What every backend's transaction primitive reports, in one vocabulary (Lua scripts, SQL and
 * the optimistic engines return these exact strings):
 * - `applied`: the transaction was written now;
 * - `replayed`: this operation id was applied before with the same transaction; nothing changed;
 * - `operation_id_reused`: the id is known with a different transaction; nothing changed;
 * - `suffix_mismatch`: the history does not end with the expected suffix; nothing changed.
 */
export type TransactionVerdict = 'applied' | 'replayed' | 'operation_id_reused' | 'suffix_mismatch';

export const TRANSACTION_VERDICTS: readonly TransactionVerdict[] = [
  'applied',
  'replayed',
  'operation_id_reused',
  'suffix_mismatch',
];

/** Returns for `applied` and `replayed`; throws the conflict error for the two refusals. */
export function settleTransaction(verdict: TransactionVerdict, operationId: string): void {
  switch (verdict) {
    case 'applied':
    case 'replayed':
      return;
    case 'operation_id_reused':
      throw new SessionConflictError(
        'operation_id_reused',
        `operationId ${JSON.stringify(operationId)} was already used for a different transaction`,
      );
    case 'suffix_mismatch':
      throw new SessionConflictError('suffix_mismatch', 'The history no longer ends with the expected suffix');
    default:
      throw new TypeError(`Unknown transaction verdict ${JSON.stringify(verdict)}`);
  }
}
