import { inspect } from 'node:util';
import { redactSecrets } from '@sessions/core';
import { describeCredentialSafety } from '@sessions/core/testing';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { PostgresSessionStore } from '../src/index.js';

// Port 1 on the loopback is closed: every failing call is a quick ECONNREFUSED.
describeCredentialSafety('postgres (password raw in the URL)', {
  createStore: (password) =>
    new PostgresSessionStore({
      url: `postgres://app:${password}@127.0.0.1:1/db`,
      clientOptions: { connect_timeout: 1 },
    }),
});

describeCredentialSafety('postgres (password in clientOptions)', {
  createStore: (password) =>
    new PostgresSessionStore({ clientOptions: { host: '127.0.0.1', port: 1, password, connect_timeout: 1 } }),
});

describeCredentialSafety('postgres (password in clientOptions, failing setup)', {
  createStore: (password) =>
    new PostgresSessionStore({ clientOptions: { host: '127.0.0.1', port: 1, password, connect_timeout: 1 } }),
  failingCall: (store) => (store as PostgresSessionStore).setup(),
});

describe('no public field exposes the postgres.js client (its options hold the password in clear)', () => {
  const password = 'S3CRETpw';
  const stores = () => [
    new PostgresSessionStore({ url: `postgres://app:${password}@127.0.0.1:1/db` }),
    new PostgresSessionStore({ clientOptions: { host: '127.0.0.1', port: 1, password, connect_timeout: 1 } }),
    // A caller's client: the store never registered its password, so only hiding the client helps.
    new PostgresSessionStore({ client: postgres({ host: '127.0.0.1', port: 1, password: 'S3CRETcaller' }) }),
  ];

  it('util.inspect with showHidden, with and without the custom inspect hook', async () => {
    for (const store of stores()) {
      try {
        const session = store.session('s');
        for (const value of [store, session]) {
          for (const customInspect of [true, false]) {
            const printed = inspect(value, { showHidden: true, depth: 20, customInspect, getters: false });
            expect(printed).not.toContain('S3CRET');
            expect(printed).not.toMatch(/\bpass\b/);
          }
          expect(JSON.stringify(value)).not.toContain('S3CRET');
        }
        // The client is still reachable for whoever asks for it, through a getter.
        expect(typeof store.client.unsafe).toBe('function');
      } finally {
        await store.close();
      }
    }
  });

  it('clientOptions.password and clientOptions.pass are masked wherever they appear', async () => {
    const built = [
      new PostgresSessionStore({ clientOptions: { host: '127.0.0.1', port: 1, password: 'Zq9-pw-opt' } }),
      new PostgresSessionStore({ clientOptions: { host: '127.0.0.1', port: 1, pass: 'Zq9-pass-opt' } }),
    ];
    await Promise.all(built.map((store) => store.close()));
    expect(redactSecrets('a Zq9-pw-opt b Zq9-pass-opt c')).toBe('a *** b *** c');
  });

  it('console.log(store) shows the namespace and who owns the client', async () => {
    await using owned = new PostgresSessionStore({ url: `postgres://app:${password}@127.0.0.1:1/db`, schema: 'chat' });
    expect(inspect(owned)).toBe(
      "PostgresSessionStore {\n  schema: 'chat',\n  tablePrefix: 'agent_',\n  prepare: true,\n  ownsClient: true,\n  ttlSeconds: undefined,\n  timeoutMs: 10000,\n  closed: false\n}",
    );
    const client = postgres({ host: '127.0.0.1', port: 1 });
    await using borrowed = new PostgresSessionStore({ client, ttlSeconds: 60 });
    expect(borrowed.toJSON()).toEqual({
      schema: 'public',
      tablePrefix: 'agent_',
      prepare: true,
      ownsClient: false,
      ttlSeconds: 60,
      timeoutMs: 10_000,
      closed: false,
    });
  });
});
