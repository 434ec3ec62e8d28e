import { describeSessionContract } from '@sessions/core/testing';
import { afterAll } from 'vitest';
import { MongoSession, MongoSessionStore } from '../src/index.js';
import { DATABASE, dropCollections, rawClient, storedItemCount, uniquePrefix, url } from './helpers.js';

const raw = await rawClient();
const db = raw.db(DATABASE);

// Each contract test gets collections of its own: the suite opens a test's main store first
// and its extra stores (which must share the main store's data) while that one is open. Small
// collections keep FerretDB, which scans a whole collection for every query, fast.
let current: { prefix: string; main: MongoSessionStore } | undefined;

afterAll(async () => {
  if (current) await dropCollections(db, current.prefix);
  await raw.close();
});

describeSessionContract('MongoSession', {
  createStore: async (options) => {
    if (current && !current.main.closed) {
      return new MongoSessionStore({ url, database: DATABASE, collectionPrefix: current.prefix, ...options });
    }
    if (current) await dropCollections(db, current.prefix);
    const prefix = uniquePrefix('contract');
    const main = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix, ...options });
    current = { prefix, main };
    return main;
  },
  capabilities: {
    ttl: true,
    transactions: true,
    compaction: true,
    historyMutations: true,
    maxItemBytes: MongoSession.maxItemBytes,
  },
  inspect: (store) => ({
    storedItemCount: (sessionId) => storedItemCount(db, (store as MongoSessionStore).collectionPrefix, sessionId),
  }),
});
