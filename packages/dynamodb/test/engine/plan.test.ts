import type { WriteRequest } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, type Meta, type RowSpec } from '../../src/engine/layout.js';
import {
  BATCH_WRITE_SIZE,
  batchGroups,
  batchWriteAll,
  fitsInTransaction,
  headerRow,
  linkable,
  MAX_BATCH_ATTEMPTS,
  MAX_TRANSACTION_ACTIONS,
  MAX_TRANSACTION_BYTES,
  PARALLEL_REQUESTS,
  planStage,
  planWrite,
  stagedRowCount,
  type TransactionPlan,
  transactionActions,
} from '../../src/engine/plan.js';
import { state } from './pages.js';

const rows = (count: number, bytes = 200): RowSpec[] =>
  Array.from({ length: count }, (_, i) => ({ seq: i, prev: i - 1, text: 'x', bytes }));
const op = { id: 'op-1', fingerprint: 'f'.repeat(32) };
const meta = (extra: Partial<Meta> = {}): Meta => ({
  version: 5,
  generation: 100,
  top: 9,
  nextSeq: 10,
  createdAt: 1,
  expiresAtMs: undefined,
  rowsExpireAt: undefined,
  updatedAt: 1,
  itemCount: 0,
  labels: '',
  labelsVersion: 0,
  ...extra,
});
const noPause = async () => {};

describe('fitsInTransaction (100 actions, 4 MB)', () => {
  it('counts the metadata put and the operation-id put as actions', () => {
    expect(fitsInTransaction(rows(MAX_TRANSACTION_ACTIONS - 1), undefined)).toBe(true);
    expect(fitsInTransaction(rows(MAX_TRANSACTION_ACTIONS), undefined)).toBe(false);
    expect(fitsInTransaction(rows(MAX_TRANSACTION_ACTIONS - 2), op)).toBe(true);
    expect(fitsInTransaction(rows(MAX_TRANSACTION_ACTIONS - 1), op)).toBe(false);
  });

  it('refuses a payload over the byte budget', () => {
    expect(fitsInTransaction(rows(11, CHUNK_BYTES + 200), undefined)).toBe(true);
    expect(fitsInTransaction(rows(12, CHUNK_BYTES + 200), undefined)).toBe(false);
    expect(fitsInTransaction(rows(1, MAX_TRANSACTION_BYTES), undefined)).toBe(false);
  });
});

describe('transactionActions', () => {
  const plan = (extra: Partial<TransactionPlan> = {}): TransactionPlan => ({
    base: meta(),
    requireLive: true,
    next: state({ version: 6, generation: 100, top: 10, nextSeq: 11, expiresAt: 5_000 }),
    puts: [],
    deletes: [],
    ...extra,
  });

  it('puts the metadata first, on the condition that it is unchanged (and still live when it expires)', () => {
    const { actions } = transactionActions(plan(), 't', 's', 42);
    expect(actions[0]?.Put?.ConditionExpression).toBe('#v = :v');
    expect(actions[0]?.Put?.ExpressionAttributeValues).toEqual({ ':v': { N: '5' } });
    expect(actions[0]?.Put?.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    const expiring = transactionActions(plan({ base: meta({ expiresAtMs: 99 }) }), 't', 's', 42).actions[0];
    expect(expiring?.Put?.ConditionExpression).toBe('#v = :v AND #expMs > :now');
    expect(expiring?.Put?.ExpressionAttributeValues?.[':now']).toEqual({ N: '42' });
    const fresh = transactionActions(plan({ base: undefined }), 't', 's', 42).actions[0];
    expect(fresh?.Put?.ConditionExpression).toBe('attribute_not_exists(#pk)');
    expect(fresh?.Put?.ExpressionAttributeValues).toBeUndefined();
  });

  it('puts the operation id second, new or of another generation or out of retention', () => {
    const { actions } = transactionActions(plan({ operation: op }), 't', 's', 1_000_000_000);
    const put = actions[1]?.Put;
    expect(put?.Item?.sk).toEqual({ S: 'o#op-1' });
    expect(put?.Item?.fp).toEqual({ S: op.fingerprint });
    expect(put?.ConditionExpression).toBe('attribute_not_exists(#pk) OR #g <> :g OR #at < :cutoff');
    expect(put?.ExpressionAttributeValues).toEqual({
      ':g': { N: '100' },
      ':cutoff': { N: String(1_000_000_000 - 86_400_000) },
    });
  });

  it('new rows carry the TTL of the new metadata; deletions that do not fit are overflow', () => {
    const deletes = Array.from({ length: 120 }, (_, i) => ({ seq: 200 + i, bytes: 100 }));
    const { actions, overflow } = transactionActions(plan({ puts: rows(3), deletes }), 't', 's', 1);
    expect(actions).toHaveLength(MAX_TRANSACTION_ACTIONS);
    expect(actions[1]?.Put?.Item?.expiresAt).toEqual({ N: '5000' });
    expect(actions.filter((action) => action.Delete)).toHaveLength(96);
    expect(overflow).toEqual(deletes.slice(96).map((d) => d.seq));
    const heavy = [1, 2, 3, 4, 5].map((seq) => ({ seq, bytes: 1_000_000 }));
    const byBytes = transactionActions(plan({ deletes: heavy }), 't', 's', 1);
    expect(byBytes.actions).toHaveLength(4);
    expect(byBytes.overflow).toEqual([4, 5]);
  });
});

describe('planWrite', () => {
  it('bumps the version, slides the expiry and asks for a stamp when kept rows would expire first', () => {
    const base = meta({ rowsExpireAt: 10 });
    const common = {
      now: 1_000_000,
      requireLive: true,
      generation: 100,
      top: 10,
      nextSeq: 11,
      puts: rows(1),
      itemCount: 1,
    };
    const withTtl = planWrite({ ...common, base, ttlSeconds: 60, kept: 9 });
    expect(withTtl.plan.next).toMatchObject({ version: 6, expiresAtMs: 1_060_000, createdAt: 1 });
    expect(withTtl.stampUpTo).toBe(9);
    const noKept = planWrite({ ...common, base, ttlSeconds: 60, kept: -1 });
    expect(noKept.stampUpTo).toBeUndefined();
    const farFloor = planWrite({ ...common, base: meta({ rowsExpireAt: 10_000_000 }), ttlSeconds: 60, kept: 9 });
    expect(farFloor.stampUpTo).toBeUndefined();
  });
});

describe('batch writes and the deadline', () => {
  it("sends unprocessed writes again only while the call's deadline has not passed", async () => {
    const requests: WriteRequest[] = [{ DeleteRequest: { Key: { pk: { S: 's' }, sk: { S: 'i#0' } } } }];
    let calls = 0;
    let expired = false;
    const error = await batchWriteAll(
      requests,
      async (batch) => {
        calls++;
        if (calls === 2) expired = true;
        return batch;
      },
      async () => {},
      () => expired,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect((error as Error).message).toBe('1 writes were unprocessed when the deadline passed');
    expect(calls).toBe(2);
  });
});

describe('batch writes (25 per request, UnprocessedItems sent again)', () => {
  const requests = (count: number): WriteRequest[] =>
    Array.from({ length: count }, (_, i) => ({ DeleteRequest: { Key: { pk: { S: 's' }, sk: { S: `i#${i}` } } } }));

  it('groups by 25', () => {
    expect(batchGroups(requests(60)).map((group) => group.length)).toEqual([25, 25, 10]);
    expect(batchGroups([])).toEqual([]);
    expect(BATCH_WRITE_SIZE).toBe(25);
  });

  it('sends every request, at most 4 groups in flight, and retries the unprocessed ones', async () => {
    const sent: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let firstTime = true;
    await batchWriteAll(
      requests(210),
      async (batch) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight--;
        sent.push(batch.length);
        if (firstTime) {
          firstTime = false;
          return batch.slice(0, 3); // unprocessed
        }
        return [];
      },
      noPause,
    );
    expect(sent.every((size) => size <= 25)).toBe(true);
    expect(sent.reduce((a, b) => a + b, 0)).toBe(213);
    expect(maxInFlight).toBe(PARALLEL_REQUESTS);
  });

  it('gives up with a plain error when writes stay unprocessed', async () => {
    let calls = 0;
    const error = await batchWriteAll(
      requests(3),
      async (batch) => {
        calls++;
        return batch;
      },
      noPause,
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('3 writes stayed unprocessed');
    expect((error as Error).name).toBe('Error');
    expect(calls).toBe(MAX_BATCH_ATTEMPTS);
  });
});

describe('staging a write too large for one transaction', () => {
  it('reserves the rows plus a header, lays them out above it, in the live generation', () => {
    const texts = Array.from({ length: 150 }, (_, i) => `"${i}"`);
    const count = stagedRowCount(texts, true, 30);
    expect(count).toBe(151);
    expect(stagedRowCount(texts, false, 30)).toBe(150);
    const reserved = meta({ nextSeq: 10 + count, version: 6 });
    const stage = planStage(texts, count, true, reserved, { keyBytes: 30, ttlSeconds: 60, now: 5_000 });
    expect(stage.start).toBe(10);
    expect(stage.generation).toBe(100);
    expect(stage.layout.rows[0]).toMatchObject({ seq: 11, prev: 10 });
    expect(stage.layout.top).toBe(160);
    expect(stage.rowExpiresAt).toBe(5 + 60 + 86_400);
    expect(headerRow(stage, 9, 30)).toEqual({ seq: 10, prev: 9, bytes: 130 });
    // Linkable while the history ends below the reserved range, in that generation.
    expect(linkable(meta(), stage, 9, false, 5_000)).toBe(true);
    expect(linkable(meta({ top: 200 }), stage, 200, false, 5_000)).toBe(false);
    expect(linkable(meta({ top: 200 }), stage, 200, true, 5_000)).toBe(true);
    expect(linkable(meta({ generation: 101 }), stage, 9, false, 5_000)).toBe(false);
  });

  it('an expired or cleared history gets a fresh generation, which links over it', () => {
    const expired = meta({ expiresAtMs: 1_000, nextSeq: 20 });
    const stage = planStage(['"a"'], 2, true, expired, { keyBytes: 30, ttlSeconds: undefined, now: 5_000 });
    expect(stage.generation).toBe(5_000);
    expect(stage.rowExpiresAt).toBeUndefined();
    expect(linkable(expired, stage, -1, false, 5_000)).toBe(true);
    expect(linkable(meta({ expiresAtMs: 1_000, generation: 6_000 }), stage, -1, false, 5_000)).toBe(false);
  });
});
