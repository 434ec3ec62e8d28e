import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { catalogKeys, sessionKeys, sessionTag } from '../src/engine/keys.js';
import { RedisSessionStore } from '../src/index.js';
import { expectKeysOwnedByOneSession, redisForTests } from './helpers.js';

// The shared server, a key prefix of this file's own, and a raw client for checks.
const { url, keyPrefix, raw } = await redisForTests('keys');

describe('key layout', () => {
  it('every key in the keyspace belongs to exactly one session, whatever its id', async () => {
    await using store = new RedisSessionStore({ url, keyPrefix, ttlSeconds: 600 });
    await expectKeysOwnedByOneSession(store, [raw]);
  });

  it('the hash tag of an id never contains a brace, is never empty, and decodes back to the id', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        fc.string({ unit: 'binary', minLength: 1 }),
        (a, b) => {
          for (const id of [a, b].filter((s) => s.isWellFormed())) {
            const tag = sessionTag(id);
            expect(tag).not.toMatch(/[{}]/);
            expect(tag.length).toBeGreaterThan(0);
            expect(decodeURIComponent(tag)).toBe(id);
          }
          if (a !== b && b.isWellFormed()) expect(sessionTag(a)).not.toBe(sessionTag(b));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the prefix is validated and the default is documented', () => {
    expect(new RedisSessionStore({ url }).keyPrefix).toBe('sessions');
    expect(sessionKeys('sessions', 'user:42')).toEqual({
      items: 'sessions:{user%3A42}:items',
      operations: 'sessions:{user%3A42}:ops',
      operationTimes: 'sessions:{user%3A42}:optimes',
      meta: 'sessions:{user%3A42}:meta',
    });
    expect(catalogKeys('sessions')).toEqual({
      order: 'sessions:{sessions#catalog}:order',
      at: 'sessions:{sessions#catalog}:at',
    });
    for (const bad of ['', 'a:b', 'a{b', 'a b', '1abc', 'x'.repeat(49), 'é', 42]) {
      expect(() => new RedisSessionStore({ url, keyPrefix: bad as string })).toThrow(/keyPrefix/);
    }
  });
});
