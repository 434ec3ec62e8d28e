import { describe, expect, it } from 'vitest';
import { backoff, inParallel, MAX_THROTTLE_ATTEMPTS, sendWithRetries } from '../../src/engine/retry.js';

const named = (name: string) => Object.assign(new Error(name), { name });
const noPause = async () => {};

describe('sendWithRetries', () => {
  it('retries throttling and transaction conflicts, then gives the error up', async () => {
    let calls = 0;
    const result = await sendWithRetries(
      async () => {
        if (++calls < 3) throw named('ProvisionedThroughputExceededException');
        return 'ok';
      },
      undefined,
      noPause,
    );
    expect(result).toBe('ok');
    calls = 0;
    const error = await sendWithRetries(
      async () => {
        calls++;
        throw named('ThrottlingException');
      },
      undefined,
      noPause,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ThrottlingException' });
    expect(calls).toBe(MAX_THROTTLE_ATTEMPTS);
  });

  it('creates a missing table once and sends again; without createTable the error stands', async () => {
    let created = 0;
    let calls = 0;
    const send = async () => {
      if (++calls === 1 || created === 0) throw named('ResourceNotFoundException');
      return 'ok';
    };
    expect(await sendWithRetries(send, async () => void created++, noPause)).toBe('ok');
    expect(created).toBe(1);
    calls = 0;
    created = 0;
    await expect(sendWithRetries(send, undefined, noPause)).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    // Created, and still missing: not an endless loop.
    const always = async () => {
      throw named('ResourceNotFoundException');
    };
    await expect(sendWithRetries(always, async () => {}, noPause)).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('does not repeat other errors (an ambiguous write sent again could apply twice)', async () => {
    let calls = 0;
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    await expect(
      sendWithRetries(
        async () => {
          calls++;
          throw reset;
        },
        undefined,
        noPause,
      ),
    ).rejects.toBe(reset);
    expect(calls).toBe(1);
  });
});

describe('sendWithRetries and the deadline', () => {
  it("gives the throttling error up once the call's deadline has passed", async () => {
    let calls = 0;
    const error = await sendWithRetries(
      async () => {
        calls++;
        throw named('ThrottlingException');
      },
      undefined,
      noPause,
      () => calls >= 2,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ThrottlingException' });
    expect(calls).toBe(2);
  });
});

describe('backoff and inParallel', () => {
  it('backoff is full jitter under min(cap, base · 2^attempt)', () => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const ms = backoff(attempt, 10, 1_000);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(Math.min(1_000, 10 * 2 ** attempt));
    }
  });

  it('inParallel runs every item with bounded concurrency', async () => {
    const seen: number[] = [];
    let active = 0;
    let peak = 0;
    await inParallel([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen.push(item);
      active--;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });
});
