import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { SessionClosedError, SessionValidationError } from '@sessions/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SqliteSession, SqliteSessionStore } from '../src/index.js';
import { fileUrl, rawClient, tempDir, uniquePrefix } from './helpers.js';

const tmp = tempDir('options');
afterAll(() => tmp.remove());

function validationError(build: () => unknown): SessionValidationError {
  let thrown: unknown;
  try {
    build();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(SessionValidationError);
  return thrown as SessionValidationError;
}

describe('the options guard runs before anything else', () => {
  it('a mistyped store option is refused by name, with the nearest known one and the whole list', () => {
    const error = validationError(() => new SqliteSessionStore({ url: ':memory:', tllSeconds: 60 } as never));
    expect(error.message).toBe(
      'SqliteSessionStore does not know the option "tllSeconds" (did you mean "ttlSeconds"?); ' +
        'known options: ttlSeconds, timeoutMs, createIfMissing, url, authToken, busyTimeoutMs, client, tablePrefix',
    );
    expect(
      validationError(() => new SqliteSessionStore({ url: ':memory:', tablePrefx: 'x_' } as never)).message,
    ).toMatch(/"tablePrefx" \(did you mean "tablePrefix"\?\)/);
    // Before the other checks: a store with no url and a typo is refused for the typo.
    expect(validationError(() => new SqliteSessionStore({ tllSeconds: 60 } as never)).message).toMatch(/"tllSeconds"/);
  });

  it('null and non-object options are a SessionValidationError, not a TypeError', () => {
    for (const options of [null, undefined, 'file:x.db', 42, ['url']]) {
      expect(validationError(() => new SqliteSessionStore(options as never)).message).toMatch(
        /^SqliteSessionStore options must be an object/,
      );
      expect(() => new SqliteSession(options as never)).toThrow(SessionValidationError);
    }
  });

  it('a mistyped session option is refused by name', () => {
    const client = createClient({ url: ':memory:' });
    try {
      const error = validationError(() => new SqliteSession({ sessionId: 's', client, tablePrefx: 'x_' } as never));
      expect(error.message).toMatch(
        /SqliteSession does not know the option "tablePrefx" \(did you mean "tablePrefix"\?\)/,
      );
      expect(error.message).toMatch(
        /known options: sessionId, ttlSeconds, timeoutMs, isClosed, client, tablePrefix, createIfMissing$/,
      );
    } finally {
      client.close();
    }
  });
});

describe('setup()', () => {
  it('creates the tables on demand; migrate() is the same call under its old name', async () => {
    const path = join(tmp.dir, 'setup.db');
    const url = fileUrl(path);
    const prefix = uniquePrefix('setup');
    const store = new SqliteSessionStore({ url, tablePrefix: prefix });
    expect(existsSync(path)).toBe(false);
    await store.setup();
    const raw = rawClient(url);
    try {
      const tables = await raw.execute({
        sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ORDER BY name",
        args: [`${prefix}%`],
      });
      expect(tables.rows.map((row) => row.name)).toEqual([
        `${prefix}items`,
        `${prefix}operations`,
        `${prefix}schema`,
        `${prefix}sessions`,
      ]);
    } finally {
      raw.close();
    }
    const setup = vi.spyOn(store, 'setup');
    await store.migrate();
    expect(setup).toHaveBeenCalledTimes(1);
    await store.close();
    await expect(store.setup()).rejects.toBeInstanceOf(SessionClosedError);
    await expect(store.migrate()).rejects.toBeInstanceOf(SessionClosedError);
  });
});
