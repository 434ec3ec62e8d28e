import { describe, expect, it } from 'vitest';
import { SessionCopyConflictError } from '../../src/errors/index.js';
import { InMemorySession, InMemorySessionStore, SessionError, SessionValidationError } from '../../src/index.js';
import type { AgentInputItem, Session } from '../../src/protocol/session.js';
import fixtures from '../../src/testing/fixtures/agent-input-items.json' with { type: 'json' };
import { type CopyProgress, copySession, copySessions } from '../../src/wrappers/copy.js';
import { wrapSessionStore } from '../../src/wrappers/delegate.js';
import { withEncryption } from '../../src/wrappers/encryption/index.js';

const msg = (text: string, extra: Record<string, unknown> = {}) => ({
  type: 'message',
  role: 'user',
  content: text,
  ...extra,
});
const numbered = (tag: string, n: number) => Array.from({ length: n }, (_, i) => msg(`${tag}-${i}`, { i }));
const history = [...Object.values(fixtures), ...numbered('n', 230)];

/** A plain session (no optional capabilities) over `inner`, whose addItems can fail on call `failOn`. */
function plain(inner: Session, failOn?: number) {
  let adds = 0;
  const calls: string[] = [];
  const session: Session = {
    getSessionId: () => inner.getSessionId(),
    getItems: (limit?: number) => inner.getItems(limit),
    addItems: async (items) => {
      calls.push(`addItems(${items.length})`);
      if (++adds === failOn) throw new Error('connection reset');
      return inner.addItems(items);
    },
    popItem: () => inner.popItem(),
    clearSession: async () => {
      calls.push('clearSession');
      return inner.clearSession();
    },
  };
  return { session, calls };
}

async function rejection<T>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  return caught as T;
}

describe('copySession', () => {
  it('copies every item in order, in pages, reporting progress', async () => {
    const from = new InMemorySession({ sessionId: 's' });
    await from.addItems(history);
    const to = plain(new InMemorySession({ sessionId: 's' }));
    const progress: CopyProgress[] = [];
    const result = await copySession(from, to.session, { pageSize: 50, onProgress: (p) => progress.push(p) });
    expect(await to.session.getItems()).toEqual(history);
    expect(result).toEqual({
      sessionId: 's',
      total: history.length,
      copied: history.length,
      alreadyPresent: 0,
      overwritten: false,
    });
    expect(to.calls).toEqual([
      'addItems(50)',
      'addItems(50)',
      'addItems(50)',
      'addItems(50)',
      'addItems(50)',
      `addItems(${history.length - 250})`,
    ]);
    expect(progress.map((p) => p.done)).toEqual([0, 50, 100, 150, 200, 250, history.length]); // one event per page
    expect(progress.at(-1)).toMatchObject({ finished: true, total: history.length });
    expect(progress.slice(0, -1).every((p) => !p.finished)).toBe(true);
  });

  it('is idempotent: a second run writes nothing', async () => {
    const from = new InMemorySession({ sessionId: 's' });
    await from.addItems(history);
    const to = plain(new InMemorySession({ sessionId: 's' }));
    await copySession(from, to.session);
    to.calls.length = 0;
    const again = await copySession(from, to.session);
    expect(again).toMatchObject({ copied: 0, alreadyPresent: history.length });
    expect(to.calls).toEqual([]);
    expect(await to.session.getItems()).toEqual(history);
  });

  it('resumes an interrupted copy, appending only the missing tail', async () => {
    const from = new InMemorySession({ sessionId: 's' });
    await from.addItems(history);
    const target = new InMemorySession({ sessionId: 's' });
    const failing = plain(target, 3);
    await expect(copySession(from, failing.session, { pageSize: 40 })).rejects.toThrow('connection reset');
    expect(await target.getItems()).toEqual(history.slice(0, 80));
    // New items in the source since then are copied too.
    await from.addItems([msg('later')]);
    const resumed = await copySession(from, target, { pageSize: 40 });
    expect(resumed).toMatchObject({ alreadyPresent: 80, copied: history.length + 1 - 80 });
    expect(await target.getItems()).toEqual([...history, msg('later')]);
  });

  it('refuses a destination that holds something else, and writes nothing', async () => {
    const from = new InMemorySession({ sessionId: 's' });
    await from.addItems(numbered('src', 5));
    for (const existing of [[msg('other')], [...numbered('src', 2), msg('diverges')], numbered('src', 6)]) {
      const to = new InMemorySession({ sessionId: 's' });
      await to.addItems(existing);
      const error = await rejection(copySession(from, to), SessionCopyConflictError);
      expect(error).toBeInstanceOf(SessionError);
      expect(error.code).toBe('CONFLICT');
      expect(error.destinationLength).toBe(existing.length);
      expect(await to.getItems()).toEqual(existing);
    }
  });

  it('overwrite: swaps atomically with replaceHistoryWithCompaction, or clears when it is missing', async () => {
    const from = new InMemorySession({ sessionId: 's' });
    await from.addItems(history);
    const compacting = new InMemorySession({ sessionId: 's' });
    await compacting.addItems([msg('old')]);
    const result = await copySession(from, compacting, { overwrite: true, pageSize: 100 });
    expect(result).toMatchObject({ overwritten: true, copied: history.length, alreadyPresent: 0 });
    expect(await compacting.getItems()).toEqual(history);

    const without = plain(new InMemorySession({ sessionId: 's' }));
    await without.session.addItems([msg('old')]);
    without.calls.length = 0;
    await copySession(from, without.session, { overwrite: true, pageSize: 200 });
    expect(without.calls).toEqual(['clearSession', 'addItems(200)', `addItems(${history.length - 200})`]);
    expect(await without.session.getItems()).toEqual(history);
  });

  it('notices a destination written to during the copy (verify)', async () => {
    const from = new InMemorySession({ sessionId: 's' });
    await from.addItems(numbered('v', 10));
    const target = new InMemorySession({ sessionId: 's' });
    const meddling: Session = {
      getSessionId: () => target.getSessionId(),
      getItems: (limit?: number) => target.getItems(limit),
      addItems: async (items) => {
        await target.addItems(items);
        await target.addItems([msg('concurrent writer')]);
      },
      popItem: () => target.popItem(),
      clearSession: () => target.clearSession(),
    };
    const error = await rejection(copySession(from, meddling, { pageSize: 4 }), SessionCopyConflictError);
    expect(error.message).toContain('changed during the copy');
  });

  it('turns encryption on (plain to encrypted) and off again, item for item', async () => {
    const keys = { keys: [{ id: 'k', key: new Uint8Array(32).fill(3) }] };
    const plainSource = new InMemorySession({ sessionId: 'e' });
    await plainSource.addItems(history);
    const sealedInner = new InMemorySession({ sessionId: 'e' });
    await copySession(plainSource, withEncryption(sealedInner, keys), { pageSize: 64 });
    expect((await sealedInner.getItems()).every((item: { type: string }) => item.type === 'encrypted')).toBe(true);
    const back = new InMemorySession({ sessionId: 'e' });
    await copySession(withEncryption(sealedInner, keys), back);
    expect(await back.getItems()).toEqual(history);
    // Re-running into the encrypted copy compares plaintext, so it is idempotent too.
    expect(await copySession(plainSource, withEncryption(sealedInner, keys))).toMatchObject({ copied: 0 });
  });

  it('an abort from a timer stops a copy to a backend that never yields (in-memory, local SQLite)', async () => {
    const from = new InMemorySession({ sessionId: 's' });
    await from.addItems(numbered('a', 3000));
    const to = new InMemorySession({ sessionId: 's' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stopped by a timer')), 5);
    await expect(copySession(from, to, { pageSize: 1, signal: controller.signal })).rejects.toThrow(
      'stopped by a timer',
    );
    const copied = (await to.getItems()).length;
    expect(copied).toBeGreaterThan(0);
    expect(copied).toBeLessThan(3000);
    expect(await copySession(from, to)).toMatchObject({ alreadyPresent: copied, copied: 3000 - copied });
  });

  it('refuses bad options before any I/O', async () => {
    const s = new InMemorySession({ sessionId: 's' });
    for (const options of [{ pageSize: 0 }, { pageSize: 1.5 }, { onProgress: 'x' }]) {
      await rejection(copySession(s, s, options as never), SessionValidationError);
    }
  });
});

describe('copySessions', () => {
  async function stores(ids: string[]) {
    const from = new InMemorySessionStore();
    for (const [k, id] of ids.entries()) await from.session(id).addItems(numbered(id, 10 + k));
    return { from, to: new InMemorySessionStore() };
  }

  it('copies many sessions from an async iterable, a repeated id once, at most `concurrency` at a time', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `session-${i}`);
    const { from, to } = await stores(ids);
    let active = 0;
    let peak = 0;
    const slowTo = wrapSessionStore(to, (session) => ({
      ...plain(session).session,
      addItems: async (items: AgentInputItem[]) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        await session.addItems(items);
        active--;
      },
    }));
    async function* stream() {
      for (const id of [...ids, ids[0]!, ids[3]!]) yield id;
    }
    const seen = new Set<string>();
    const result = await copySessions(from, slowTo, stream(), {
      concurrency: 3,
      pageSize: 4,
      onProgress: (p) => seen.add(p.sessionId),
    });
    expect(result.failed).toEqual([]);
    expect(result.copied.map((r) => r.sessionId).sort()).toEqual([...ids].sort());
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    expect(seen.size).toBe(12);
    for (const id of ids) expect(await to.session(id).getItems()).toEqual(await from.session(id).getItems());
    // Idempotent as a whole.
    const again = await copySessions(from, to, ids);
    expect(again.copied.every((r) => r.copied === 0)).toBe(true);
  });

  it('reports a failing session and copies the others; stopOnError stops starting new ones', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    const { from, to } = await stores(ids);
    await to.session('b').addItems([msg('something else')]);
    const result = await copySessions(from, to, ids, { concurrency: 1 });
    expect(result.failed.map((f) => f.sessionId)).toEqual(['b']);
    expect(result.failed[0]!.error).toBeInstanceOf(SessionCopyConflictError);
    expect(result.copied.map((r) => r.sessionId)).toEqual(['a', 'c', 'd']);

    const fresh = await stores(ids);
    await fresh.to.session('b').addItems([msg('something else')]);
    const stopped = await copySessions(fresh.from, fresh.to, ids, { concurrency: 1, stopOnError: true });
    expect(stopped.copied.map((r) => r.sessionId)).toEqual(['a']);
    expect(await fresh.to.session('c').getItems()).toEqual([]);
  });

  it('stops when aborted', async () => {
    const ids = ['a', 'b', 'c'];
    const { from, to } = await stores(ids);
    const controller = new AbortController();
    const promise = copySessions(from, to, ids, {
      concurrency: 1,
      onProgress: (p) => {
        if (p.finished && p.sessionId === 'a') controller.abort(new Error('stop'));
      },
      signal: controller.signal,
    });
    await expect(promise).rejects.toThrow('stop');
    expect(await to.session('c').getItems()).toEqual([]);
  });

  it('refuses a bad concurrency or ids that are not strings', async () => {
    const { from, to } = await stores(['a']);
    await rejection(copySessions(from, to, ['a'], { concurrency: 0 }), SessionValidationError);
    const result = await copySessions(from, to, [42 as unknown as string]).catch((e) => e);
    expect(result).toBeInstanceOf(SessionValidationError);
  });
});
