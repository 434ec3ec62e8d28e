import { describe, expect, it } from 'vitest';
import type { CommitDoc } from '../../src/engine/documents.js';
import { planExpiry, tombstoneFields } from '../../src/engine/expiry.js';

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
