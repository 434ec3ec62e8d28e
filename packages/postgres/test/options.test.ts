import { SessionValidationError } from '@sessions/core';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresSession, PostgresSessionStore } from '../src/index.js';
import { SESSION_OPTION_KEYS, STORE_OPTION_KEYS } from '../src/options.js';

// Never connected to: every check here happens before any I/O.
const client = postgres('postgres://nobody@127.0.0.1:1/none');
afterAll(() => client.end());

const refusal = (build: () => unknown): SessionValidationError => {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionValidationError);
    return error as SessionValidationError;
  }
  return expect.fail('no error was thrown');
};

describe('the options guard', () => {
  it('null or non-object store options are a SessionValidationError, not a TypeError', () => {
    for (const options of [null, 42, 'postgres://x', [], true]) {
      const error = refusal(() => new PostgresSessionStore(options as never));
      expect(error.message).toMatch(/PostgresSessionStore options must be an object/);
    }
    expect(() => new PostgresSessionStore(undefined)).not.toThrow();
  });

  it('a typo is refused by name, with the known keys and a suggestion, before the URL is even parsed', () => {
    const error = refusal(() => new PostgresSessionStore({ url: 'not a url %%%', tllSeconds: 5 } as never));
    expect(error.message).toContain('"tllSeconds"');
    expect(error.message).toContain('did you mean "ttlSeconds"?');
    expect(error.message).toContain(
      'known options: ttlSeconds, schema, tablePrefix, prepare, url, clientOptions, client, sql',
    );
    expect(refusal(() => new PostgresSessionStore({ client, tablePrefx: 'x_' } as never)).message).toContain(
      'did you mean "tablePrefix"?',
    );
    expect(refusal(() => new PostgresSessionStore({ client, keyPrefix: 'x' } as never)).message).toContain(
      '"keyPrefix"',
    );
  });

  it('a URL the driver cannot parse (a raw `/` in the password) is refused when the store is built, masked', () => {
    const error = refusal(() => new PostgresSessionStore({ url: 'postgres://app:Zq9S3CRET/pw@127.0.0.1:1/db' }));
    expect(error.message).toMatch(/^url is not a valid PostgreSQL connection string/);
    expect(error.message).not.toContain('S3CRET');
  });

  it('every documented store option is accepted', () => {
    expect([...STORE_OPTION_KEYS].sort()).toEqual(
      ['client', 'clientOptions', 'prepare', 'schema', 'sql', 'tablePrefix', 'url'].sort(),
    );
    const store = new PostgresSessionStore({
      url: 'postgres://app@127.0.0.1:1/db',
      clientOptions: { max: 1 },
      schema: 'chat',
      tablePrefix: 'x_',
      prepare: false,
      ttlSeconds: 10,
    });
    expect([store.schema, store.tablePrefix, store.prepare, store.ttlSeconds]).toEqual(['chat', 'x_', false, 10]);
    return store.close();
  });

  it('session options are guarded the same way', () => {
    expect([...SESSION_OPTION_KEYS].sort()).toEqual(['client', 'prepare', 'schema', 'sql', 'tablePrefix'].sort());
    refusal(() => new PostgresSession(null as never));
    const error = refusal(() => new PostgresSession({ sessionId: 'x', client, tablePrefx: 'x_' } as never));
    expect(error.message).toContain('did you mean "tablePrefix"?');
    expect(error.message).toContain(
      'known options: sessionId, ttlSeconds, isClosed, schema, tablePrefix, prepare, client, sql',
    );
    refusal(() => new PostgresSession({ sessionId: 'x', client, url: 'postgres://x' } as never));
    expect(new PostgresSession({ sessionId: 'x', sql: client, schema: 'chat', prepare: false }).sessionId).toBe('x');
  });
});
