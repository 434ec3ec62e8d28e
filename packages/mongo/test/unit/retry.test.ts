import { describe, expect, it } from 'vitest';
import { backoffCap, LOST, MAX_BACKOFF_MS, MAX_WRITE_ATTEMPTS, retryUntilSettled } from '../../src/engine/retry.js';

describe('the commit-retry loop', () => {
  it('returns the first answer that is not a lost race, waiting a jittered moment after each loss', async () => {
    const waits: number[] = [];
    const seen: number[] = [];
    const attempt = async (index: number) => {
      seen.push(index);
      return index < 3 ? LOST : `won at ${index}`;
    };
    const result = await retryUntilSettled(attempt, {
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.5,
    });
    expect(result).toBe('won at 3');
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(waits).toEqual([0.5, 1, 2]);
  });

  it('a final answer, even undefined, ends the loop at once', async () => {
    let calls = 0;
    const attempt = async () => {
      calls++;
      return undefined;
    };
    expect(await retryUntilSettled(attempt)).toBeUndefined();
    expect(calls).toBe(1);
  });

  it('the jitter window doubles up to a cap', () => {
    expect([0, 1, 2, 6, 7, 10, 500].map(backoffCap)).toEqual([
      1,
      2,
      4,
      64,
      MAX_BACKOFF_MS,
      MAX_BACKOFF_MS,
      MAX_BACKOFF_MS,
    ]);
  });

  it('gives up after the last attempt with the given error (by default after 1000 lost races)', async () => {
    const sleep = async () => {};
    let calls = 0;
    const losing = async () => {
      calls++;
      return LOST;
    };
    const error = await retryUntilSettled(losing, { sleep }).catch((e: unknown) => e);
    expect(calls).toBe(MAX_WRITE_ATTEMPTS);
    expect((error as Error).message).toMatch(/gave up after 1000 attempts/);
    const custom = await retryUntilSettled(async () => LOST, {
      sleep,
      maxAttempts: 3,
      giveUp: (n) => new RangeError(`tried ${n}`),
    }).catch((e: unknown) => e);
    expect(custom).toEqual(new RangeError('tried 3'));
  });

  it('checks before every attempt that it may go on (a closed store stops the loop)', async () => {
    let open = 2;
    let calls = 0;
    const losing = async () => {
      calls++;
      return LOST;
    };
    const error = await retryUntilSettled(losing, {
      sleep: async () => {},
      beforeAttempt: () => {
        if (open-- === 0) throw new Error('closed');
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('closed');
    expect(calls).toBe(2);
  });
});
