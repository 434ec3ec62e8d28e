import { join } from 'node:path';
import { type Client, createClient } from '@libsql/client';
import { describeSessionContract } from '@sessions/core/testing';
import { afterAll } from 'vitest';
import { SqliteSessionStore } from '../src/index.js';
import { countRows, fileUrl, rawClient, tempDir, uniquePrefix } from './helpers.js';

const capabilities = { ttl: true, transactions: true, compaction: true, historyMutations: true };

// ':memory:' is one database per connection, so every store of this suite shares one client
// (the caller's-client path); the suite's `openStore` must reach the same database.
const memoryClient: Client = createClient({ url: ':memory:' });
const memoryPrefix = uniquePrefix('mem');

describeSessionContract('sqlite :memory:', {
  createStore: ({ ttlSeconds }) =>
    new SqliteSessionStore({ client: memoryClient, tablePrefix: memoryPrefix, ttlSeconds }),
  capabilities,
  inspect: () => ({ storedItemCount: (id) => countRows(memoryClient, memoryPrefix, id) }),
});

// A file: every store opens and owns its client (WAL, busy timeout), as `{ url }` users do.
const tmp = tempDir('contract');
const dbUrl = fileUrl(join(tmp.dir, 'contract.db'));
const filePrefix = uniquePrefix('file');
const fileInspector = rawClient(dbUrl);

describeSessionContract('sqlite file', {
  createStore: ({ ttlSeconds }) => new SqliteSessionStore({ url: dbUrl, tablePrefix: filePrefix, ttlSeconds }),
  capabilities,
  inspect: () => ({ storedItemCount: (id) => countRows(fileInspector, filePrefix, id) }),
});

afterAll(() => {
  memoryClient.close();
  fileInspector.close();
  tmp.remove();
});
