import { describe, expect, it } from 'vitest';
import { ClientHandle } from '../../src/base/client-handle.js';
import { checkOptions } from '../../src/base/options.js';
import { SessionValidationError } from '../../src/errors/session-errors.js';
import { InMemorySession, InMemorySessionStore } from '../../src/memory/in-memory.js';

describe('the options guard', () => {
  it('names an unknown key, suggests the near one and lists the known keys', () => {
    expect(() => checkOptions('RedisSessionStore', { url: 'x', tllSeconds: 60 }, ['url', 'ttlSeconds'])).toThrow(
      /RedisSessionStore does not know the option "tllSeconds" \(did you mean "ttlSeconds"\?\); known options: url, ttlSeconds/,
    );
    expect(() => checkOptions('S', { colour: 1 }, ['url'])).toThrow(/"colour"; known options: url$/);
  });

  it('refuses null, arrays and primitives with a SessionValidationError', () => {
    for (const bad of [null, undefined, [], 'redis://x', 3]) {
      expect(() => checkOptions('S', bad, ['url'])).toThrow(SessionValidationError);
    }
  });

  it('runs in the in-memory store and session constructors before anything else', () => {
    expect(() => new InMemorySessionStore({ tllSeconds: 5 } as never)).toThrow(/did you mean "ttlSeconds"/);
    expect(() => new InMemorySessionStore(null as never)).toThrow(SessionValidationError);
    expect(() => new InMemorySession({ sessionId: 'a', ttlSecond: 1 } as never)).toThrow(/"ttlSecond"/);
  });
});

describe('ClientHandle', () => {
  it('builds an owned client on first use and closes it once, only if it was built', async () => {
    let built = 0;
    let closed = 0;
    const handle = ClientHandle.owned(
      () => ({ id: ++built }),
      () => {
        closed++;
      },
    );
    expect(handle.peek()).toBeUndefined();
    expect(handle.client).toEqual({ id: 1 });
    expect(handle.client).toEqual({ id: 1 });
    await Promise.all([handle.release(), handle.release()]);
    expect([built, closed]).toEqual([1, 1]);
    const unused = ClientHandle.owned(
      () => ({ id: ++built }),
      () => {
        closed++;
      },
    );
    await unused.release();
    expect([built, closed]).toEqual([1, 1]);
  });

  it('never closes a borrowed client', async () => {
    const client = { closed: false };
    const handle = ClientHandle.borrowed(client);
    expect(handle.owned).toBe(false);
    await handle.release();
    expect(client.closed).toBe(false);
    expect(handle.client).toBe(client);
  });
});
