import { DEFAULT_OPERATION_RETENTION_SECONDS, TRANSACTION_VERDICTS } from '@sessions/core';
import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { CommitDoc, OperationRecord } from '../../src/engine/documents.js';
import {
  carryOperations,
  findRecord,
  lookUpOperation,
  MAX_CARRIED_OPERATION_BYTES,
} from '../../src/engine/operations.js';

const now = Date.UTC(2030, 0, 1);
const commit = (fields: Partial<CommitDoc>): CommitDoc => ({
  sessionId: 's',
  rev: 1,
  prev: 0,
  base: 1,
  count: 1,
  at: new Date(now - 1000),
  ...fields,
});

describe('carried operation ids', () => {
  const record = (i: number, ageMs: number): OperationRecord => ({
    id: `op-${String(i).padStart(6, '0')}`,
    fp: 'f'.repeat(64),
    at: new Date(now - ageMs),
  });

  it('every id within retention is carried, however many, the expired ones are not', () => {
    const retention = DEFAULT_OPERATION_RETENTION_SECONDS * 1000;
    const docs = [
      commit({ rev: 2, ops: Array.from({ length: 3000 }, (_, i) => record(i, 60_000 + i)) }),
      commit({ rev: 3, ops: [record(5000, retention + 1)] }),
      commit({ rev: 1, base: 1, ops: [record(6000, 1)] }), // before base: cleared
    ];
    const added = record(9999, 0);
    const ops = carryOperations(docs, 2, now, added)!;
    expect(ops).toHaveLength(3001);
    expect(ops[0]).toEqual(added);
    expect(ops.map((op) => op.id)).not.toContain('op-005000');
    expect(ops.map((op) => op.id)).not.toContain('op-006000');
  });

  it('when they would not fit in a document, the newest that fit are kept, the new one first', () => {
    const big = (i: number) => ({ ...record(i, 1000 + i), id: `${'x'.repeat(240)}-${i}` });
    const count = Math.ceil(MAX_CARRIED_OPERATION_BYTES / BSON.calculateObjectSize(big(0))) + 100;
    const docs = [commit({ rev: 1, ops: Array.from({ length: count }, (_, i) => big(i)) })];
    const added = record(999_999, 0);
    const ops = carryOperations(docs, 1, now, added)!;
    expect(ops.length).toBeLessThan(count);
    expect(ops[0]).toEqual(added);
    expect(BSON.calculateObjectSize({ ops })).toBeLessThanOrEqual(MAX_CARRIED_OPERATION_BYTES);
    // The newest: ids 0…k-2 (younger first), none older than one that was dropped.
    expect(ops.slice(1).map((op) => op.id)).toEqual(Array.from({ length: ops.length - 1 }, (_, i) => big(i).id));
    const one = BSON.calculateObjectSize({ ops: [...ops, big(ops.length - 1)] });
    expect(one).toBeGreaterThan(MAX_CARRIED_OPERATION_BYTES);
  });
});

describe('looking an operation id up before a transaction', () => {
  const operation = { id: 'op', fp: 'a'.repeat(32) };
  const head = commit({ rev: 5, base: 3 });
  const found = (rev: number, fp: string, ageMs = 1000) => ({
    rev,
    record: { id: 'op', fp, at: new Date(now - ageMs) },
  });

  it("answers with core's verdict strings when the id decides the transaction", () => {
    expect(lookUpOperation(found(4, operation.fp), head, operation, now)).toBe('replayed');
    expect(lookUpOperation(found(5, 'b'.repeat(32)), head, operation, now)).toBe('operation_id_reused');
    for (const verdict of ['replayed', 'operation_id_reused'] as const) {
      expect(TRANSACTION_VERDICTS).toContain(verdict);
    }
  });

  it('an id not in the current history (before a clear, expired, forgotten) does not decide anything', () => {
    expect(lookUpOperation(undefined, head, operation, now)).toBe('unrecorded');
    expect(lookUpOperation(found(4, operation.fp), undefined, operation, now)).toBe('unrecorded');
    expect(lookUpOperation(found(2, operation.fp), head, operation, now)).toBe('unrecorded');
    const retention = DEFAULT_OPERATION_RETENTION_SECONDS * 1000;
    expect(lookUpOperation(found(4, operation.fp, retention), head, operation, now)).toBe('unrecorded');
  });

  it('an id recorded by a commit newer than the head read first means read again', () => {
    expect(lookUpOperation(found(6, operation.fp), head, operation, now)).toBe('ahead_of_head');
  });

  it('finds the record in a commit the lookup returned, ignoring malformed records', () => {
    const doc = {
      rev: 7,
      ops: [
        { id: 'other', fp: 'x', at: new Date(now) },
        { id: 'op', fp: 'y', at: new Date(now) },
      ],
    };
    expect(findRecord(doc, 'op')).toEqual({ rev: 7, record: doc.ops[1] });
    expect(findRecord({ rev: 7, ops: [{ id: 'op', fp: 'y' } as never] }, 'op')).toBeUndefined();
    expect(findRecord(undefined, 'op')).toBeUndefined();
  });
});
