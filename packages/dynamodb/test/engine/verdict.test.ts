import { settleTransaction, TRANSACTION_VERDICTS } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { A, type Meta, n, type Row } from '../../src/engine/layout.js';
import { cancelledOutcome, mismatchVerdict, recordedVerdict } from '../../src/engine/verdict.js';

const op = { id: 'op-1', fingerprint: 'abc' };
const cancelled = (...codes: (string | { Code: string; Item?: Row })[]) =>
  Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: codes.map((code) => (typeof code === 'string' ? { Code: code } : code)),
  });
const meta = (extra: Partial<Meta> = {}): Meta => ({
  version: 4,
  generation: 100,
  top: 3,
  nextSeq: 4,
  createdAt: 1,
  expiresAtMs: undefined,
  rowsExpireAt: undefined,
  updatedAt: 1,
  itemCount: 0,
  labels: '',
  labelsVersion: 0,
  ...extra,
});
const record = (fingerprint: string, at: number, generation = 100): Row => ({
  [A.fingerprint]: { S: fingerprint },
  [A.recordedAt]: n(at),
  [A.generation]: n(generation),
});

describe('cancelledOutcome', () => {
  it('metadata condition failed: another write won, and its metadata comes back', () => {
    const outcome = cancelledOutcome(
      cancelled({ Code: 'ConditionalCheckFailed', Item: { version: n(9), top: n(2) } }, 'None'),
      undefined,
    );
    expect(outcome).toMatchObject({ kind: 'meta-changed', meta: { version: 9, top: 2 } });
  });

  it("operation-id condition failed: core's verdict strings", () => {
    const same = cancelled('None', { Code: 'ConditionalCheckFailed', Item: record('abc', 1) });
    expect(cancelledOutcome(same, op)).toEqual({ kind: 'recorded', verdict: 'replayed' });
    const other = cancelled('None', { Code: 'ConditionalCheckFailed', Item: record('xyz', 1) });
    expect(cancelledOutcome(other, op)).toEqual({ kind: 'recorded', verdict: 'operation_id_reused' });
  });

  it('load (throttling, a conflicting transaction) is busy; anything else is not handled', () => {
    expect(cancelledOutcome(cancelled('None', 'TransactionConflict'), undefined)).toEqual({ kind: 'busy' });
    expect(cancelledOutcome(cancelled('ThrottlingError'), undefined)).toEqual({ kind: 'busy' });
    expect(cancelledOutcome(cancelled('ValidationError'), undefined)).toBeUndefined();
    expect(cancelledOutcome(new Error('other'), undefined)).toBeUndefined();
  });
});

describe('verdicts', () => {
  it('are exactly the strings settleTransaction knows', () => {
    expect(TRANSACTION_VERDICTS).toContain(recordedVerdict('abc', op));
    expect(TRANSACTION_VERDICTS).toContain(recordedVerdict('xyz', op));
    expect(() => settleTransaction(recordedVerdict('abc', op), op.id)).not.toThrow();
    expect(() => settleTransaction(recordedVerdict('xyz', op), op.id)).toThrow(
      /already used for a different transaction/,
    );
  });

  it('a suffix mismatch: a live record decides; else the same metadata version means suffix_mismatch', () => {
    const now = 1_000_000_000;
    const base = { operation: op, readVersion: 4, now };
    expect(mismatchVerdict({ ...base, meta: meta(), recorded: record('abc', now - 1000) })).toBe('replayed');
    expect(mismatchVerdict({ ...base, meta: meta(), recorded: record('xyz', now - 1000) })).toBe('operation_id_reused');
    // A record of an older generation, or older than the retention, does not count.
    expect(mismatchVerdict({ ...base, meta: meta(), recorded: record('abc', now - 1000, 99) })).toBe('suffix_mismatch');
    expect(mismatchVerdict({ ...base, meta: meta(), recorded: record('abc', now - 86_400_001) })).toBe(
      'suffix_mismatch',
    );
    expect(mismatchVerdict({ ...base, meta: meta(), recorded: undefined })).toBe('suffix_mismatch');
    // The history changed since the suffix was read: read again.
    expect(mismatchVerdict({ ...base, meta: meta({ version: 5 }), recorded: undefined })).toBeUndefined();
    expect(() => settleTransaction('suffix_mismatch', op.id)).toThrow(
      'The history no longer ends with the expected suffix',
    );
  });
});
