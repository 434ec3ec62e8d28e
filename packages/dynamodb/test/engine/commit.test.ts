import { describe, expect, it } from 'vitest';
import {
  type CommitPort,
  type CommitStep,
  commitStep,
  commitWithRetry,
  decided,
  MAX_WRITE_ATTEMPTS,
} from '../../src/engine/commit.js';
import type { Meta, MetaState } from '../../src/engine/layout.js';
import { type PlannedWrite, planWrite } from '../../src/engine/plan.js';
import type { TransactionOutcome } from '../../src/engine/verdict.js';

const meta = (version: number): Meta => ({
  version,
  generation: 7,
  top: 0,
  nextSeq: 1,
  createdAt: 1,
  expiresAtMs: undefined,
  rowsExpireAt: undefined,
  updatedAt: 1,
  itemCount: 0,
  labels: '',
  labelsVersion: 0,
});

const planned = (base: Meta | undefined, kept = -1, ttlSeconds?: number): PlannedWrite =>
  planWrite({
    base,
    now: 1_000,
    ttlSeconds,
    requireLive: base !== undefined,
    generation: 7,
    top: 1,
    nextSeq: 2,
    kept,
    puts: [{ seq: 1, prev: kept, text: '"x"', bytes: 50 }],
    operation: { id: 'op', fingerprint: 'fp' },
    itemCount: 1,
  });

/** A port that answers `transact` from `outcomes` in turn and records every call. */
function fakePort(outcomes: (TransactionOutcome | Error)[]) {
  const calls: string[] = [];
  const remembered: (Meta | undefined)[] = [];
  const pauses: number[] = [];
  let failDelete = false;
  const port: CommitPort = {
    async transact(plan) {
      calls.push(`transact v${plan.next.version}`);
      const next = outcomes.shift() ?? { kind: 'committed', overflow: [] };
      if (next instanceof Error) throw next;
      return next;
    },
    async stampRows(state: MetaState, kept: number) {
      calls.push(`stamp ${kept} ttl=${state.expiresAt}`);
    },
    async deleteRows(seqs) {
      calls.push(`delete ${seqs.join(',')}`);
      if (failDelete) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    },
    remember(m) {
      remembered.push(m);
    },
    async pause(ms) {
      pauses.push(ms);
    },
  };
  return {
    port,
    calls,
    remembered,
    pauses,
    failDeletes() {
      failDelete = true;
    },
  };
}

describe('commitWithRetry', () => {
  it('commits the first plan, remembers the metadata it wrote and returns the path result', async () => {
    const fake = fakePort([]);
    const result = await commitWithRetry(fake.port, { plan: async () => commitStep('applied', planned(meta(3))) });
    expect(result).toBe('applied');
    expect(fake.calls).toEqual(['transact v4']);
    expect(fake.remembered).toMatchObject([{ version: 4, top: 1, nextSeq: 2 }]);
  });

  it('a lost race: remembers what won, backs off and plans again from it', async () => {
    const fake = fakePort([{ kind: 'meta-changed', meta: meta(9) }, { kind: 'busy' }]);
    const bases: (number | undefined)[] = [];
    let known: Meta | undefined = meta(3);
    fake.port.remember = (m) => {
      known = m;
    };
    const result = await commitWithRetry(fake.port, {
      plan: async (attempt) => {
        bases.push(known?.version);
        return commitStep(attempt, planned(known));
      },
    });
    expect(result).toBe(2);
    expect(bases).toEqual([3, 9, 9]);
    expect(fake.calls).toEqual(['transact v4', 'transact v10', 'transact v10']);
    expect(fake.pauses).toHaveLength(2);
    expect(fake.pauses.every((ms) => ms >= 0 && ms < 200)).toBe(true);
  });

  it("stops after a lost race once the call's deadline has passed: nothing more is tried", async () => {
    const fake = fakePort(Array.from({ length: 50 }, () => ({ kind: 'meta-changed', meta: meta(5) }) as const));
    let plans = 0;
    fake.port.expired = () => plans >= 3;
    const error = await commitWithRetry(fake.port, {
      plan: async () => {
        plans++;
        return commitStep(1, planned(meta(1)));
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect((error as Error).message).toBe('the deadline passed after 3 attempts; nothing more was tried');
    expect(fake.calls).toEqual(['transact v2', 'transact v2', 'transact v2']);
    // A path that keeps asking to plan again stops too.
    let agains = 0;
    const again = await commitWithRetry(
      { ...fakePort([]).port, expired: () => agains >= 5 },
      {
        plan: async () => {
          agains++;
          return { kind: 'again' };
        },
      },
    ).catch((e: unknown) => e);
    expect(again).toMatchObject({ name: 'TimeoutError' });
    expect(agains).toBe(5);
  });

  it('gives up with a plain error after MAX_WRITE_ATTEMPTS lost races, or as the path says', async () => {
    const losing = () => Array.from({ length: 500 }, () => ({ kind: 'busy' }) as const);
    const fake = fakePort(losing());
    const error = await commitWithRetry(fake.port, { plan: async () => commitStep(1, planned(meta(1))) }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(`the session changed on each of ${MAX_WRITE_ATTEMPTS} attempts`);
    expect((error as Error).name).toBe('Error');
    expect(fake.calls).toHaveLength(MAX_WRITE_ATTEMPTS);
    const restage = fakePort(losing());
    const result = await commitWithRetry<number | 'restage'>(restage.port, {
      plan: async () => commitStep(1, planned(meta(1))),
      exhausted: () => 'restage',
      maxAttempts: 3,
      backoff: { baseMs: 10, capMs: 1_000 },
    });
    expect(result).toBe('restage');
    expect(restage.calls).toHaveLength(3);
  });

  it('an operation id recorded before: the path settles it (replayed / operation_id_reused), nothing retried', async () => {
    for (const verdict of ['replayed', 'operation_id_reused'] as const) {
      const fake = fakePort([{ kind: 'recorded', verdict }]);
      const cleaned: string[] = [];
      const result = await commitWithRetry(fake.port, {
        plan: async () => commitStep<string>('applied', planned(meta(1))),
        recorded: async (v) => {
          cleaned.push(v);
          return v;
        },
      });
      expect(result).toBe(verdict);
      expect(cleaned).toEqual([verdict]);
      expect(fake.calls).toEqual(['transact v2']);
      expect(fake.remembered).toEqual([]);
    }
  });

  it('stamps the kept rows with the new TTL before the commit, and a failed stamp commits nothing', async () => {
    const base = { ...meta(1), rowsExpireAt: 10 };
    const fake = fakePort([]);
    await commitWithRetry(fake.port, { plan: async () => commitStep(0, planned(base, 0, 60)) });
    expect(fake.calls).toEqual([expect.stringMatching(/^stamp 0 ttl=\d+$/), 'transact v2']);
    const failing = fakePort([]);
    failing.port.stampRows = async () => {
      throw new Error('stamp failed');
    };
    await expect(
      commitWithRetry(failing.port, { plan: async () => commitStep(0, planned(base, 0, 60)) }),
    ).rejects.toThrow('stamp failed');
    expect(failing.calls).toEqual([]);
  });

  it('after a commit, deleting overflow rows and the cleanup are best effort', async () => {
    const fake = fakePort([{ kind: 'committed', overflow: [5, 6] }]);
    fake.failDeletes();
    let cleaned = false;
    const result = await commitWithRetry(fake.port, {
      plan: async () =>
        commitStep('stored', planned(meta(1)), async () => {
          cleaned = true;
          throw new Error('cleanup failed');
        }),
    });
    expect(result).toBe('stored');
    expect(fake.calls).toEqual(['transact v2', 'delete 5,6']);
    expect(cleaned).toBe(true);
  });

  it('a step may decide without writing, or ask to plan again at once', async () => {
    const fake = fakePort([]);
    const steps: CommitStep<string>[] = [{ kind: 'again' }, { kind: 'again' }, decided('nothing to do')];
    const result = await commitWithRetry(fake.port, { plan: async () => steps.shift() as CommitStep<string> });
    expect(result).toBe('nothing to do');
    expect(fake.calls).toEqual([]);
    expect(fake.pauses).toEqual([]);
  });

  it('a driver error from the transaction is thrown as it is (the session maps it)', async () => {
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    const fake = fakePort([denied]);
    await expect(commitWithRetry(fake.port, { plan: async () => commitStep(1, planned(meta(1))) })).rejects.toBe(
      denied,
    );
  });
});
