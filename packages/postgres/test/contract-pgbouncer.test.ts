import { describeSessionContract } from '@sessions/core/testing';
import { pgbouncerAdminUrl } from '@sessions/test-services';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PostgresSessionStore } from '../src/index.js';
import { countItems, rawClient, uniqueName } from './helpers.js';

// Behind PgBouncer in pool_mode = transaction (what Supabase's pooler and Neon's pooled endpoint
// are): each transaction may run on another server connection, so nothing may rely on session
// state. The stores build their own client from the pooler URL with `prepare: false`, as the
// README tells users to; `inspect` counts rows over a direct connection to PostgreSQL.
const pooledUrl = inject('pgbouncerUrl');
const directUrl = inject('postgresUrl');
const schema = uniqueName('pgbouncer').slice(0, -1);
const tablePrefix = 'agent_';
const raw = rawClient(directUrl);
// The admin console speaks only the simple query protocol and has no pg_type to fetch.
const admin = postgres(pgbouncerAdminUrl(pooledUrl), { fetch_types: false, max: 1, onnotice: () => {} });
afterAll(async () => {
  await raw.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await Promise.all([raw.end(), admin.end()]);
});

describeSessionContract('postgres through PgBouncer (transaction mode, prepare: false)', {
  createStore: ({ ttlSeconds }) =>
    new PostgresSessionStore({ url: pooledUrl, prepare: false, schema, tablePrefix, ttlSeconds }),
  capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
  inspect: () => ({ storedItemCount: (sessionId) => countItems(raw, sessionId, { schema, tablePrefix }) }),
});

type ConsoleRow = Record<string, string | number>;
const consoleRows = (command: string) => admin.unsafe<ConsoleRow[]>(command).simple();

describe('the pooler URL', () => {
  it('goes through PgBouncer in transaction mode: a connected client keeps no server connection between transactions', async () => {
    const config = await consoleRows('SHOW CONFIG');
    expect(config.find((row) => row.key === 'pool_mode')?.value).toBe('transaction');

    // A caller's client, marked so that the console shows which client connection is ours.
    const applicationName = uniqueName('proof').slice(0, -1);
    const client = postgres(pooledUrl, {
      prepare: false,
      max: 1,
      onnotice: () => {},
      connection: { application_name: applicationName },
    });
    const store = new PostgresSessionStore({ client, prepare: false, schema, tablePrefix });
    const sessionId = uniqueName('proof');
    try {
      await store.session(sessionId).addItems([{ type: 'message', role: 'user', content: 'through the pooler' }]);
      expect(await countItems(raw, sessionId, { schema, tablePrefix })).toBe(1);

      const ours = async () => {
        const clients = (await consoleRows('SHOW CLIENTS')).filter((row) => row.application_name === applicationName);
        expect(clients).toHaveLength(1);
        return clients[0] as ConsoleRow;
      };
      let backendPid = 0;
      await client.begin(async (tx) => {
        const [row] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
        backendPid = row?.pid ?? 0;
        // Inside the transaction our client is linked to the server connection it runs on...
        const server = (await consoleRows('SHOW SERVERS')).find((s) => s.remote_pid === backendPid);
        expect(server).toBeDefined();
        expect(server?.link).toBe((await ours()).ptr);
        // ...and that backend's peer, as PostgreSQL sees it, is PgBouncer's end of that connection.
        const peers = await raw`SELECT client_port AS port FROM pg_stat_activity WHERE pid = ${backendPid}`;
        expect(peers[0]?.port).toBe(server?.local_port);
      });
      // After COMMIT the client is still connected, but the server connection went back to the
      // pool (session mode would keep it linked to the client until it disconnects).
      expect((await ours()).link).toBe('');
      const released = (await consoleRows('SHOW SERVERS')).find((s) => s.remote_pid === backendPid);
      expect(released?.link).toBe('');
    } finally {
      await store.close();
      await client.end();
    }
  });
});
