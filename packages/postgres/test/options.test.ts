import { SessionValidationError } from '@sessions/core';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { boundedClientOptions, transactionBoundsSql } from '../src/engine/timeouts.js';
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
      'known options: ttlSeconds, timeoutMs, createIfMissing, schema, tablePrefix, prepare, url, clientOptions, client, sql',
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
      timeoutMs: 2500,
      createIfMissing: false,
    });
    expect([store.schema, store.tablePrefix, store.prepare, store.ttlSeconds]).toEqual(['chat', 'x_', false, 10]);
    expect([store.timeoutMs, store.createIfMissing]).toEqual([2500, false]);
    expect(store.session('s').timeoutMs).toBe(2500);
    return store.close();
  });

  it('session options are guarded the same way', () => {
    expect([...SESSION_OPTION_KEYS].sort()).toEqual(
      ['client', 'createIfMissing', 'prepare', 'schema', 'sql', 'tablePrefix'].sort(),
    );
    refusal(() => new PostgresSession(null as never));
    const error = refusal(() => new PostgresSession({ sessionId: 'x', client, tablePrefx: 'x_' } as never));
    expect(error.message).toContain('did you mean "tablePrefix"?');
    expect(error.message).toContain(
      'known options: sessionId, ttlSeconds, timeoutMs, isClosed, schema, tablePrefix, prepare, client, sql, createIfMissing',
    );
    refusal(() => new PostgresSession({ sessionId: 'x', client, url: 'postgres://x' } as never));
    expect(new PostgresSession({ sessionId: 'x', sql: client, schema: 'chat', prepare: false }).sessionId).toBe('x');
    expect(refusal(() => new PostgresSession({ sessionId: 'x', client, createIfMissing: 'no' } as never)).message).toBe(
      'createIfMissing must be true or false, got no',
    );
    expect(refusal(() => new PostgresSession({ sessionId: 'x', client, timeoutMs: 0 })).message).toMatch(/^timeoutMs/);
  });
});

describe('timeoutMs on the driver (no server)', () => {
  it('a store-created client gets connect_timeout = timeoutMs rounded up to seconds, and a capped backoff', () => {
    const options = boundedClientOptions(1500, 'postgres://h/db');
    expect(options.connect_timeout).toBe(2);
    const backoff = options.backoff as (attempt: number) => number;
    for (const attempt of [0, 1, 5, 10, 50]) {
      expect(backoff(attempt)).toBeGreaterThanOrEqual(0);
      expect(backoff(attempt)).toBeLessThanOrEqual(0.375);
    }
    expect(boundedClientOptions(600_000, undefined).connect_timeout).toBe(600);
    expect((boundedClientOptions(600_000, undefined).backoff as (n: number) => number)(50)).toBeLessThanOrEqual(1);
    // Node timers overflow past 2^31 - 1 ms: the largest timeoutMs still gives a working timer.
    expect(boundedClientOptions(2_147_483_647, undefined).connect_timeout).toBe(2_147_483);
  });

  it("the caller's clientOptions and URL parameters win; undefined values do not erase the derived ones", () => {
    const mine = () => 7;
    expect(boundedClientOptions(1000, undefined, { connect_timeout: 9, backoff: mine, max: 3 })).toEqual({
      connect_timeout: 9,
      backoff: mine,
      max: 3,
    });
    const fromUrl = boundedClientOptions(1000, 'postgres://h/db?sslmode=require&connect_timeout=5&backoff=2');
    expect(fromUrl).toEqual({});
    expect(boundedClientOptions(1000, undefined, { connect_timeout: undefined }).connect_timeout).toBe(1);
  });

  it('every transaction opens with SET LOCAL bounds equal to timeoutMs', () => {
    expect(transactionBoundsSql(1234)).toBe(
      "SELECT set_config('statement_timeout', '1234', true) AS s, set_config('lock_timeout', '1234', true) AS l, set_config('idle_in_transaction_session_timeout', '1234', true) AS i",
    );
    expect(() => transactionBoundsSql(1.5)).toThrow();
  });
});
