import { inspect } from 'node:util';
import { describeCredentialSafety } from '@sessions/core/testing';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { MySQLSessionStore } from '../src/index.js';

// Port 1 on the loopback is closed: every failing call is a quick ECONNREFUSED.
describeCredentialSafety('mysql (password raw in the URL)', {
  createStore: (password) => new MySQLSessionStore({ url: `mysql://app:${password}@127.0.0.1:1/db`, timeoutMs: 2_000 }),
});

describeCredentialSafety('mysql (password in clientOptions)', {
  createStore: (password) =>
    new MySQLSessionStore({ clientOptions: { host: '127.0.0.1', port: 1, user: 'app', password }, timeoutMs: 2_000 }),
});

describeCredentialSafety('mysql (password in clientOptions, failing setup)', {
  createStore: (password) =>
    new MySQLSessionStore({ clientOptions: { host: '127.0.0.1', port: 1, user: 'app', password }, timeoutMs: 2_000 }),
  failingCall: (store) => (store as MySQLSessionStore).setup(),
});

describe('no public field exposes the mysql2 pool (its config holds the password in clear)', () => {
  it('util.inspect with showHidden, with and without the custom inspect hook, and JSON', async () => {
    const caller = mysql.createPool({ host: '127.0.0.1', port: 1, password: 'S3CRETcaller' });
    const stores = [
      new MySQLSessionStore({ url: 'mysql://app:S3CRETpw@127.0.0.1:1/db' }),
      new MySQLSessionStore({ clientOptions: { host: '127.0.0.1', port: 1, password: 'S3CRETopt' } }),
      // A caller's pool: the store never registered its password, so only hiding the pool helps.
      new MySQLSessionStore({ client: caller }),
    ];
    try {
      for (const store of stores) {
        for (const value of [store, store.session('s')]) {
          for (const customInspect of [true, false]) {
            const printed = inspect(value, { showHidden: true, depth: 20, customInspect, getters: false });
            expect(printed).not.toContain('S3CRET');
          }
          expect(JSON.stringify(value)).not.toContain('S3CRET');
        }
        // The pool is still reachable for whoever asks for it, through a getter.
        expect(typeof store.client.getConnection).toBe('function');
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await caller.end();
    }
  });

  it('console.log(store) shows the namespace and who owns the pool', async () => {
    await using owned = new MySQLSessionStore({ url: 'mysql://app:S3CRETpw@127.0.0.1:1/db', tablePrefix: 'chat_' });
    expect(inspect(owned)).toBe(
      "MySQLSessionStore {\n  tablePrefix: 'chat_',\n  ownsClient: true,\n  ttlSeconds: undefined,\n  timeoutMs: 10000,\n  closed: false\n}",
    );
    const pool = mysql.createPool({ host: '127.0.0.1', port: 1 });
    try {
      await using borrowed = new MySQLSessionStore({ pool, ttlSeconds: 60 });
      expect(borrowed.toJSON()).toEqual({
        tablePrefix: 'agent_',
        ownsClient: false,
        ttlSeconds: 60,
        timeoutMs: 10_000,
        closed: false,
      });
    } finally {
      await pool.end();
    }
  });
});
