import { describe, expect, it } from 'vitest';
import { SessionWriteQueue } from '../src/index.js';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

describe('SessionWriteQueue', () => {
  it('runs tasks of one owner and key one at a time, in call order; other keys and owners run alongside', async () => {
    const queue = new SessionWriteQueue();
    const owner = {};
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const task = (label: string) => async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${label}`);
      await tick();
      log.push(`end ${label}`);
      running--;
      return label;
    };
    const same = await Promise.all(['a', 'b', 'c'].map((label) => queue.run(owner, 'session', task(label))));
    expect(same).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(maxRunning).toBe(1);

    maxRunning = 0;
    await Promise.all([
      queue.run(owner, 'one', task('x')),
      queue.run(owner, 'two', task('y')),
      queue.run({}, 'one', task('z')),
    ]);
    expect(maxRunning).toBe(3);
  });

  it('a failing task does not block the next, and lane state lives only while writers are queued', async () => {
    const queue = new SessionWriteQueue(() => ({ seen: 0 }));
    const owner = {};
    const first = queue.run(owner, 'k', async (state) => {
      state.seen++;
      throw new Error('lost');
    });
    const second = queue.run(owner, 'k', async (state) => ++state.seen);
    await expect(first).rejects.toThrow('lost');
    expect(await second).toBe(2);
    expect(await queue.run(owner, 'k', async (state) => ++state.seen)).toBe(1);
  });
});
