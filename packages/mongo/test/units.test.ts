import { DEFAULT_OPERATION_RETENTION_SECONDS } from '@sessions/core';
import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { CommitDoc, OperationRecord } from '../src/layout.js';
import { carryOperations, MAX_CARRIED_OPERATION_BYTES, planExpiry, tombstoneFields } from '../src/session.js';

const now = Date.UTC(2030, 0, 1);
const HOUR = 3600_000;
const commit = (fields: Partial<CommitDoc>): CommitDoc => ({
  sessionId: 's',
  rev: 1,
  prev: 0,
  base: 1,
  count: 1,
  at: new Date(now - 1000),
  ...fields,
});

describe('physical expiry (computed fields)', () => {
  it('a shorter ttl never gives the new head an expiry before an older commit of a longer ttl', () => {
    // A store with ttl 1 h wrote the head; a store with ttl 5 s writes on top of it.
    const head = commit({
      until: new Date(now + HOUR),
      expiresAt: new Date(now + 2 * HOUR),
      floor: new Date(now + HOUR),
    });
    const plan = planExpiry(5000, now, head, head, undefined);
    expect(plan.fields.until).toEqual(new Date(now + 5000));
    expect(plan.fields.expiresAt!.getTime()).toBeGreaterThan(head.expiresAt!.getTime());
    expect(plan.bump).toBeUndefined();
    // Same when the new commit starts a chain of its own (clear, compaction, first write after expiry).
    for (const rest of [undefined, head]) {
      expect(planExpiry(5000, now, head, rest, undefined).fields.expiresAt!.getTime()).toBeGreaterThan(
        head.expiresAt!.getTime(),
      );
    }
  });

  it('a bump pushes older documents past until but keeps them below the new head', () => {
    const head = commit({ until: new Date(now + 100), expiresAt: new Date(now + 1100), floor: new Date(now + 600) });
    const plan = planExpiry(1000, now, head, head, undefined);
    const { until, expiresAt, floor } = plan.fields;
    expect(expiresAt!.getTime()).toBe(until!.getTime() + 1000);
    expect(plan.bump).toBeDefined();
    const bump = plan.bump as { below: Date; to: Date };
    expect(bump.to.getTime()).toBeGreaterThanOrEqual(until!.getTime());
    expect(bump.to.getTime()).toBeLessThan(expiresAt!.getTime());
    expect(bump.to.getTime()).toBeGreaterThan(head.expiresAt!.getTime());
    expect(floor!.getTime()).toBeLessThanOrEqual(Math.min(bump.to.getTime(), bump.below.getTime()));
    expect(floor!.getTime()).toBeGreaterThanOrEqual(until!.getTime());
    // A tiny ttl still keeps both rules.
    const due = commit({ until: new Date(now), expiresAt: new Date(now) });
    const tiny = planExpiry(2, now, due, due, undefined);
    const tinyBump = tiny.bump as { below: Date; to: Date };
    expect(tinyBump.to.getTime()).toBeGreaterThanOrEqual(tiny.fields.until!.getTime());
    expect(tinyBump.to.getTime()).toBeLessThan(tiny.fields.expiresAt!.getTime());
  });

  it('a ttl write over a head written without ttl bumps every document below the new head', () => {
    const head = commit({});
    for (const rest of [undefined, head]) {
      const plan = planExpiry(5000, now, head, rest, undefined);
      const bump = plan.bump as { below: Date; to: Date };
      expect(bump).toBeDefined();
      expect(bump.to.getTime()).toBeLessThan(plan.fields.expiresAt!.getTime());
    }
    // Without ttl: no expiry; the chain's expiry is removed when it goes on through the head.
    const expiring = commit({ until: new Date(now + 1000), expiresAt: new Date(now + 2000) });
    expect(planExpiry(undefined, now, expiring, expiring, undefined)).toEqual({ fields: {}, bump: { unset: true } });
    expect(planExpiry(undefined, now, expiring, undefined, undefined)).toEqual({ fields: {} });
  });

  it('a tombstone reads as expired and has no items', () => {
    const fields = tombstoneFields(now);
    expect(fields.count).toBe(0);
    expect(fields.dead).toEqual(new Date(now));
    expect(fields.until!.getTime()).toBeLessThanOrEqual(now);
  });
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
