import { inspect } from 'node:util';
import { SessionValidationError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { driverOptions, MAX_CONNECT_TIMEOUT_MS } from '../src/engine/connection.js';
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
    expect(store.toJSON()).toEqual({
      keyPrefix: 'chat',
      ownsClient: true,
      ttlSeconds: 60,
      timeoutMs: 10_000,
      closed: false,
    });
    expect(inspect(store, { breakLength: Number.POSITIVE_INFINITY })).toBe(
      "RedisSessionStore { keyPrefix: 'chat', ownsClient: true, ttlSeconds: 60, timeoutMs: 10000, closed: false }",
    );
    expect(JSON.stringify(store)).not.toMatch(/hunter2|127\.0\.0\.1/);
    // The constructor registered both passwords: any message that would show them masks them.
    const other = new RedisSessionStore({ clientOptions: { url: 'redis://:Zq8-fromClientOptionsUrl@127.0.0.1:1' } });
    const message = new SessionValidationError('hunter2 Zq8-fromClientOptionsUrl').message;
    expect(message).toBe('*** ***');
    await other.close();
    expect(inspect(store.session('s'))).toBe("RedisSession { sessionId: 's', ttlSeconds: 60, timeoutMs: 10000 }");
    await store.close();
    expect(store.toJSON()).toMatchObject({ closed: true });
    const borrowed = new RedisSessionStore({ client: store.client });
    expect(borrowed.toJSON()).toEqual({
      keyPrefix: 'sessions',
      ownsClient: false,
      ttlSeconds: undefined,
      timeoutMs: 10_000,
      closed: false,
    });
  });
});

describe('timeoutMs', () => {
  it('reaches every session of the store, and createIfMissing is accepted (default 10 s, true)', async () => {
    await using store = new RedisSessionStore({ url, timeoutMs: 1_500, createIfMissing: false });
    expect(store.timeoutMs).toBe(1_500);
    expect(store.session('a').timeoutMs).toBe(1_500);
    expect(store.createIfMissing).toBe(false);
    await using defaults = new RedisSessionStore({ url });
    expect(defaults.session('a').timeoutMs).toBe(10_000);
    expect(defaults.createIfMissing).toBe(true);
    expect(() => new RedisSessionStore({ url, timeoutMs: 0 })).toThrow(SessionValidationError);
    expect(() => new RedisSessionStore({ url, createIfMissing: 'no' as never })).toThrow(SessionValidationError);
    expect(new RedisSession({ sessionId: 'a', client: store.client, timeoutMs: 250 }).timeoutMs).toBe(250);
  });

  it("sets the store-created client's connect timeout (at most 5 s) and command timeout; clientOptions win", () => {
    expect(MAX_CONNECT_TIMEOUT_MS).toBe(5_000);
    const short = driverOptions(url, undefined, 1_000);
    expect(short).toMatchObject({ url, socket: { connectTimeout: 1_000 }, commandOptions: { timeout: 1_000 } });
    expect(short.socket).not.toHaveProperty('socketTimeout');
    expect(driverOptions(url, undefined, 30_000)).toMatchObject({
      socket: { connectTimeout: 5_000 },
      commandOptions: { timeout: 30_000 },
    });
    const own = driverOptions(
      undefined,
      { socket: { host: 'h', connectTimeout: 50, socketTimeout: 70 }, commandOptions: { timeout: 60 } },
      1_000,
    );
    expect(own).toMatchObject({
      socket: { host: 'h', connectTimeout: 50, socketTimeout: 70 },
      commandOptions: { timeout: 60 },
    });
  });
});
