import { describeSessionContract } from '@sessions/core/testing';
import { afterAll, inject } from 'vitest';
import { PostgresSessionStore } from '../src/index.js';
import { countItems, rawClient, uniqueName } from './helpers.js';

// The default configuration: the store owns a client built from the URL, schema `public`.
const url = inject('postgresUrl');
const tablePrefix = uniqueName('contract');
const raw = rawClient(url);
afterAll(() => raw.end());

describeSessionContract('postgres', {
  createStore: ({ ttlSeconds }) => new PostgresSessionStore({ url, tablePrefix, ttlSeconds }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: () => ({ storedItemCount: (sessionId) => countItems(raw, sessionId, { tablePrefix }) }),
});
