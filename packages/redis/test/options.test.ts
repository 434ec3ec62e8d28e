import { inspect } from 'node:util';
import { SessionValidationError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { RedisSession, RedisSessionStore } from '../src/index.js';
import { SESSION_OPTION_KEYS, STORE_OPTION_KEYS } from '../src/options.js';

// No server: every check here happens before any I/O (the URL points at a closed port).
const url = 'redis://127.0.0.1:1';

function thrown(build: () => unknown): Error {
  try {
    build();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('the options guard', () => {
  it('a typo is a SessionValidationError naming the key and suggesting the right one', () => {
    const error = thrown(() => new RedisSessionStore({ url, tllSeconds: 60 } as never));
    expect(error).toBeInstanceOf(SessionValidationError);
    expect(error.message).toContain('"tllSeconds"');
    expect(error.message).toContain('did you mean "ttlSeconds"?');
    expect(error.message).toContain(STORE_OPTION_KEYS.join(', '));
    const prefix = thrown(() => new RedisSessionStore({ url, keyprefix: 'chat' } as never));
    expect(prefix.message).toContain('did you mean "keyPrefix"?');
  });

  it('runs before anything else, even before the other options are checked', () => {
    // A bad client and a bad URL would be refused too, but the unknown key is named first.
    const error = thrown(() => new RedisSessionStore({ client: 42, url: 'http://x', tllSeconds: 1 } as never));
    expect(error).toBeInstanceOf(SessionValidationError);
    expect(error.message).toContain('"tllSeconds"');
  });

  it('null, an array or a non-object is a SessionValidationError, not a TypeError', () => {
    for (const options of [null, undefined, 42, 'redis://x', [], () => {}]) {
      const error = thrown(() => new RedisSessionStore(options as never));
      expect(error, String(options)).toBeInstanceOf(SessionValidationError);
      const sessionError = thrown(() => new RedisSession(options as never));
      expect(sessionError, String(options)).toBeInstanceOf(SessionValidationError);
    }
  });

  it('a session refuses unknown keys too, and accepts every documented one', () => {
    const client = new RedisSessionStore({ url }).client;
    const error = thrown(() => new RedisSession({ sessionId: 'a', client, keyPrefx: 'x' } as never));
    expect(error).toBeInstanceOf(SessionValidationError);
    expect(error.message).toContain('did you mean "keyPrefix"?');
    // `url` belongs to the store: a bare session takes a client.
    expect(() => new RedisSession({ sessionId: 'a', client, url } as never)).toThrow(/"url"/);
    const session = new RedisSession({
      sessionId: 'a',
      client,
      keyPrefix: 'chat',
      ttlSeconds: 5,
      isClosed: () => false,
    });
    expect(session.keyPrefix).toBe('chat');
    expect(SESSION_OPTION_KEYS).toEqual(expect.arrayContaining(['sessionId', 'ttlSeconds', 'keyPrefix', 'client']));
  });
});

describe('what a store shows', () => {
  it('console.log and JSON.stringify show the namespace and who owns the client, never the URL or client', async () => {
    const store = new RedisSessionStore({
      url: 'redis://app:hunter2@127.0.0.1:1/3',
      keyPrefix: 'chat',
      ttlSeconds: 60,
      clientOptions: { password: 'hunter2' },
    });
    expect(store.toJSON()).toEqual({ keyPrefix: 'chat', ownsClient: true, ttlSeconds: 60, closed: false });
    expect(inspect(store)).toBe(
      "RedisSessionStore { keyPrefix: 'chat', ownsClient: true, ttlSeconds: 60, closed: false }",
    );
    expect(JSON.stringify(store)).not.toMatch(/hunter2|127\.0\.0\.1/);
    // The constructor registered both passwords: any message that would show them masks them.
    const other = new RedisSessionStore({ clientOptions: { url: 'redis://:Zq8-fromClientOptionsUrl@127.0.0.1:1' } });
    const message = new SessionValidationError('hunter2 Zq8-fromClientOptionsUrl').message;
    expect(message).toBe('*** ***');
    await other.close();
    expect(inspect(store.session('s'))).toBe("RedisSession { sessionId: 's', ttlSeconds: 60 }");
    await store.close();
    expect(store.toJSON()).toMatchObject({ closed: true });
    const borrowed = new RedisSessionStore({ client: store.client });
    expect(borrowed.toJSON()).toEqual({
      keyPrefix: 'sessions',
      ownsClient: false,
      ttlSeconds: undefined,
      closed: false,
    });
  });
});
