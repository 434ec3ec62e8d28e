import { describe, expect, it } from 'vitest';
import {
  expiryAt,
  freshGeneration,
  nextMeta,
  operationCutoff,
  operationExpiresAt,
  ROW_TTL_MARGIN_SECONDS,
  ROW_TTL_SLACK_SECONDS,
} from '../../src/engine/expiry.js';
import type { Meta } from '../../src/engine/layout.js';

const meta = (extra: Partial<Meta> = {}): Meta => ({
  version: 2,
  generation: 50,
  top: 4,
  nextSeq: 5,
  createdAt: 10,
  expiresAtMs: undefined,
  rowsExpireAt: undefined,
  updatedAt: 1,
  itemCount: 0,
  labels: '',
  labelsVersion: 0,
  ...extra,
});
const change = { generation: 50, top: 5, nextSeq: 6, kept: 4, writesRows: true, itemCount: 1 };

describe('expiryAt', () => {
  it('reads expire ttlSeconds after the write; rows get DynamoDB TTL at least a day (or the TTL) later', () => {
    expect(expiryAt(undefined, 1_000)).toBeUndefined();
    expect(expiryAt(60, 1_000_000)).toEqual({ expiresAtMs: 1_060_000, rowExpiresAt: 1_060 + ROW_TTL_SLACK_SECONDS });
    expect(expiryAt(0.3, 1_000)).toEqual({ expiresAtMs: 1_300, rowExpiresAt: 2 + ROW_TTL_SLACK_SECONDS });
    const week = 7 * 86_400;
    expect(expiryAt(week, 0)?.rowExpiresAt).toBe(2 * week);
  });
});

describe('nextMeta', () => {
  it('bumps the version, keeps createdAt within a generation, starts it anew in another', () => {
    const { state } = nextMeta(meta(), 9_000, change, undefined);
    expect(state).toMatchObject({ version: 3, generation: 50, top: 5, nextSeq: 6, createdAt: 10, updatedAt: 9_000 });
    expect(state.expiresAtMs).toBeUndefined();
    expect(nextMeta(meta(), 9_000, { ...change, generation: 51 }, undefined).state.createdAt).toBe(9_000);
    expect(nextMeta(undefined, 9_000, change, 60).state).toMatchObject({ version: 1, createdAt: 9_000 });
  });

  it('re-stamps kept rows whose TTL would come before the session expiry (or that carry one forever)', () => {
    const now = 1_000_000_000;
    const expiry = expiryAt(60, now)!;
    const soon = meta({ rowsExpireAt: Math.ceil(expiry.expiresAtMs / 1000) + ROW_TTL_MARGIN_SECONDS - 1 });
    const late = meta({ rowsExpireAt: Math.ceil(expiry.expiresAtMs / 1000) + ROW_TTL_MARGIN_SECONDS });
    const stamped = nextMeta(soon, now, change, 60);
    expect(stamped.refresh).toBe(true);
    expect(stamped.state.rowsExpireAt).toBe(expiry.rowExpiresAt - ROW_TTL_MARGIN_SECONDS);
    expect(stamped.state.expiresAt).toBe(expiry.rowExpiresAt);
    const kept = nextMeta(late, now, change, 60);
    expect(kept.refresh).toBe(false);
    expect(kept.state.rowsExpireAt).toBe(late.rowsExpireAt);
    // A handle without TTL makes the session permanent: rows with a TTL lose it first.
    const forever = nextMeta(late, now, change, undefined);
    expect(forever.refresh).toBe(true);
    expect(forever.state.rowsExpireAt).toBeUndefined();
    // Nothing kept (a replacement of everything): nothing to stamp.
    expect(nextMeta(soon, now, { ...change, kept: -1 }, 60).refresh).toBe(false);
    // Rows never stamped (no floor): nothing to stamp; new rows set the floor.
    const fresh = nextMeta(meta(), now, change, 60);
    expect(fresh).toMatchObject({ refresh: false, state: { rowsExpireAt: expiry.rowExpiresAt } });
    expect(nextMeta(meta(), now, { ...change, writesRows: false }, 60).state.rowsExpireAt).toBeUndefined();
  });
});

describe('generations and operation retention', () => {
  it('a fresh generation is newer than the old one and time based', () => {
    expect(freshGeneration(undefined, 5_000)).toBe(5_000);
    expect(freshGeneration(meta({ generation: 4_000 }), 5_000)).toBe(5_000);
    expect(freshGeneration(meta({ generation: 9_000 }), 5_000)).toBe(9_001);
  });

  it('operation ids are kept 24 hours', () => {
    expect(operationExpiresAt(1_000_500)).toBe(1_001 + 86_400);
    expect(operationCutoff(100_000_000)).toBe(100_000_000 - 86_400_000);
  });
});
