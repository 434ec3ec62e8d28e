import { describeSessionContract } from '@sessions/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { DynamoDBSessionStore } from '../src/index.js';
import { clientConfig, dropTable, rawClient, storedItemCount, uniqueTable } from './helpers.js';

const tableName = uniqueTable('contract');
// A separate client for raw checks, so the suite sees what really landed.
const raw = rawClient();

beforeAll(async () => {
  await new DynamoDBSessionStore({ client: raw, tableName }).ensureTable();
});

afterAll(async () => {
  await dropTable(raw, tableName);
  raw.destroy();
});

describeSessionContract('DynamoDBSession', {
  createStore: (options) => new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName, ...options }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: () => ({ storedItemCount: (sessionId) => storedItemCount(raw, tableName, sessionId) }),
});
