import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningService } from '../types.js';
import { userIds, which } from './locate.js';
import { freePort, makeTempDir, spawnServer, waitForPort } from './process.js';

export const PGBOUNCER_INSTALL_HINT =
  'Run scripts/install-test-services (installs Debian’s pgbouncer), or point PGBOUNCER_URL at a PgBouncer ' +
  'in pool_mode = transaction in front of the test PostgreSQL (its admin console must accept the same user).';

export function pgbouncerBinary(): string | undefined {
  return process.env.PGBOUNCER_BIN ?? which('pgbouncer', ['/usr/sbin', '/usr/bin', '/usr/local/bin']);
}

/** Where a PgBouncer URL's admin console is: the same server, database `pgbouncer`. */
export function pgbouncerAdminUrl(poolerUrl: string): string {
  const url = new URL(poolerUrl);
  url.pathname = '/pgbouncer';
  url.search = '';
  return url.toString();
}

/** A value of pgbouncer's auth_file: double-quoted, a quote doubled. */
const quoted = (value: string) => `"${value.replaceAll('"', '""')}"`;

/**
 * PgBouncer in `pool_mode = transaction` on a free loopback port, in front of the PostgreSQL at
 * `upstreamUrl` (every database name is passed on to it). Clients log in with the upstream
 * URL's user and no password (`auth_type = trust`); the auth_file keeps the upstream password,
 * if any, for pgbouncer's own server logins. That user is also an admin of the console
 * (database `pgbouncer`, see {@link pgbouncerAdminUrl}). As root it runs as the `postgres` user:
 * pgbouncer refuses to run as root.
 */
export async function startNativePgbouncer(upstreamUrl: string): Promise<RunningService> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error(`pgbouncer was not found. ${PGBOUNCER_INSTALL_HINT}`);
  const upstream = new URL(upstreamUrl);
  const user = decodeURIComponent(upstream.username) || 'postgres';
  const password = decodeURIComponent(upstream.password);
  const database = decodeURIComponent(upstream.pathname.slice(1)) || user;
  const host = upstream.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const upstreamPort = upstream.port || '5432';

  const owner = process.getuid?.() === 0 ? userIds('postgres') : undefined;
  if (process.getuid?.() === 0 && !owner) throw new Error('Running as root needs a `postgres` user to run pgbouncer');
  const dir = makeTempDir('pgbouncer', owner);
  const port = await freePort();
  const authFile = join(dir.path, 'userlist.txt');
  const configFile = join(dir.path, 'pgbouncer.ini');
  const config = [
    '[databases]',
    // The wildcard: a client's database name is the upstream database of the same name.
    `* = host=${host} port=${upstreamPort}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    // No Unix socket: it would land in /tmp, shared with every other run.
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${authFile}`,
    `admin_users = ${user}`,
    'pool_mode = transaction',
    // Clients are cheap; server connections stay well under the test PostgreSQL's 300.
    'max_client_conn = 1000',
    'default_pool_size = 40',
    // The test's proof reads SHOW SERVERS: LIFO reuse of server connections (the default).
    'server_round_robin = 0',
    'log_connections = 0',
    'log_disconnections = 0',
    'log_pooler_errors = 1',
    '',
  ].join('\n');
  writeFileSync(configFile, config, { mode: 0o600 });
  writeFileSync(authFile, `${quoted(user)} ${quoted(password)}\n`, { mode: 0o600 });
  if (owner) for (const file of [configFile, authFile]) chownSync(file, owner.uid, owner.gid);

  const server = spawnServer(binary, [configFile], { uid: owner?.uid, gid: owner?.gid, cwd: dir.path });
  try {
    await waitForPort(port, 15_000, server.alive);
  } catch (error) {
    await server.stop();
    dir.remove();
    throw new Error(`pgbouncer did not start: ${(error as Error).message}\n${server.output()}`);
  }
  return {
    name: 'pgbouncer',
    url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    source: 'native',
    async stop() {
      // SIGTERM: immediate shutdown (SIGINT would wait for clients to finish).
      await server.stop();
      dir.remove();
    },
  };
}
