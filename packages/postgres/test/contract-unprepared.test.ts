import { describeSessionContract } from '@sessions/core/testing';
import { afterAll, inject } from 'vitest';
import { PostgresSessionStore } from '../src/index.js';
import { countItems, rawClient, uniqueName } from './helpers.js';

// The pooler configuration: the caller's own client with `prepare: false` (as PgBouncer,
// Supabase and Neon poolers in transaction mode need), shared by every store of the suite and
// never ended by them, in a schema of its own (created by the lazy migration).
const url = inject('postgresUrl');
const schema = uniqueName('schema').slice(0, -1);
const tablePrefix = 'agent_';
const client = rawClient(url, { prepare: false, max: 10 });
const raw = rawClient(url);
afterAll(async () => {
  await raw.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await Promise.all([client.end(), raw.end()]);
});

describeSessionContract('postgres (prepare: false, caller client, own schema)', {
  createStore: ({ ttlSeconds }) =>
    new PostgresSessionStore({ client, prepare: false, schema, tablePrefix, ttlSeconds }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: () => ({ storedItemCount: (sessionId) => countItems(raw, sessionId, { schema, tablePrefix }) }),
});
