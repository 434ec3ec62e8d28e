import { describeSessionContract } from '@sessions/core/testing';
import { afterAll, inject } from 'vitest';
import { MySQLSessionStore } from '../src/index.js';
import { countItems, dropTables, rawPool, uniqueName } from './helpers.js';

const url = inject('serviceUrls').mysql!;
const raw = rawPool(url);
const inspect = (tablePrefix: string) => () => ({
  storedItemCount: (sessionId: string) => countItems(raw, sessionId, tablePrefix),
});

// The default configuration: the store owns a pool built from the URL, at the server's default
// isolation level (REPEATABLE READ).
const tablePrefix = uniqueName('contract');
describeSessionContract('mysql', {
  createStore: ({ ttlSeconds }) => new MySQLSessionStore({ url, tablePrefix, ttlSeconds }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: inspect(tablePrefix),
});

// A caller's pool whose connections run at READ COMMITTED (as many deployments configure).
const committedPrefix = uniqueName('committed');
const committed = rawPool(url, { connectionLimit: 10 });
committed.on('connection', (connection) => {
  connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
});
describeSessionContract('mysql (READ COMMITTED, a caller pool)', {
  createStore: ({ ttlSeconds }) =>
    new MySQLSessionStore({ client: committed, tablePrefix: committedPrefix, ttlSeconds }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: inspect(committedPrefix),
});

afterAll(async () => {
  await committed.end();
  await dropTables(raw, tablePrefix);
  await dropTables(raw, committedPrefix);
  await raw.end();
});
