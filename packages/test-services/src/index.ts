import { containerRuntimeAvailable, startContainer } from './containers.js';
import { startNativeDynamoDBLocal } from './native/dynamodb-local.js';
import { startNativeFerretDB } from './native/ferretdb.js';
import { INSTALL_HINT } from './native/locate.js';
import { startNativePgbouncer } from './native/pgbouncer.js';
import { startNativePostgres } from './native/postgres.js';
import { startNativeRedis } from './native/redis.js';
import { findServerPlugin } from './plugins.js';
import type { BuiltInService, RunningService, ServiceName } from './types.js';

export { type FaultMode, type FaultProxy, startFaultProxy, startFaultProxyFor } from './fault-proxy.js';
export { type CallError, timed, untilItWorks } from './healing.js';
export { pgbouncerAdminUrl } from './native/pgbouncer.js';
export { freePort, makeTempDir, spawnServer, waitForPort } from './native/process.js';
export { type RunningRedisCluster, startNativeRedisCluster } from './native/redis-cluster.js';
export type { ServerPlugin } from './plugins.js';
export type { BuiltInService, RunningService, ServiceName } from './types.js';

/** The environment variable that names an existing server, per service. */
export const SERVICE_ENV: Record<BuiltInService, string> = {
  redis: 'REDIS_URL',
  postgres: 'POSTGRES_URL',
  mongodb: 'MONGODB_URL',
  dynamodb: 'DYNAMODB_ENDPOINT',
};

const NATIVE: Record<BuiltInService, () => Promise<RunningService>> = {
  redis: () => startNativeRedis(),
  postgres: startNativePostgres,
  mongodb: startNativeFerretDB,
  dynamodb: startNativeDynamoDBLocal,
};

/**
 * A live server for `name`, chosen in order: the environment URL, Testcontainers when a
 * container runtime answers, a native server started on 127.0.0.1, or an error saying how to
 * get one. Never a skip: a missing database fails the tests loudly.
 */
export async function startService(name: ServiceName): Promise<RunningService> {
  const fromEnv = process.env[await envVariable(name)];
  if (fromEnv) return { name, url: fromEnv, source: 'env', stop: async () => {} };
  return startSharedService(name);
}

function isBuiltIn(name: ServiceName): name is BuiltInService {
  return Object.hasOwn(NATIVE, name);
}

async function envVariable(name: ServiceName): Promise<string> {
  if (isBuiltIn(name)) return SERVICE_ENV[name];
  const plugin = await findServerPlugin(name);
  if (!plugin)
    throw new Error(`No test server kind ${JSON.stringify(name)}: no built-in and no packages/*/test/server.ts for it`);
  return plugin.env;
}

/** The native starter of a built-in kind, or of the backend package that brings the kind. */
async function nativeStarter(name: ServiceName): Promise<() => Promise<RunningService>> {
  if (isBuiltIn(name)) return NATIVE[name];
  const plugin = await findServerPlugin(name);
  if (!plugin) throw new Error(`No test server kind ${JSON.stringify(name)}`);
  return () => plugin.startNativeServer();
}

/**
 * A server this test run owns alone (never the environment URL), so that it can be restarted
 * or broken without disturbing anyone. A native server comes first when its binaries are
 * installed, because it restarts on the same port; a container's restart may remap its port.
 */
export async function startPrivateService(name: ServiceName): Promise<RunningService & { restart(): Promise<void> }> {
  const problems: string[] = [];
  try {
    return (await (
      await nativeStarter(name)
    )()) as RunningService & { restart(): Promise<void> };
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (isBuiltIn(name) && (await containerRuntimeAvailable())) {
    return (await startContainer(name)) as RunningService & { restart(): Promise<void> };
  }
  problems.push('no container runtime answered');
  throw new Error(`No ${name} server for the tests: ${problems.join('; ')}. ${INSTALL_HINT}`);
}

/** A shared server for a test run: the environment URL, then Testcontainers, then native. */
async function startSharedService(name: ServiceName): Promise<RunningService> {
  const problems: string[] = [];
  if (isBuiltIn(name) && (await containerRuntimeAvailable())) return startContainer(name);
  problems.push(isBuiltIn(name) ? 'no container runtime answered' : 'no container image for this kind');
  try {
    return await (await nativeStarter(name))();
  } catch (error) {
    problems.push((error as Error).message);
  }
  throw new Error(`No ${name} server for the tests: ${problems.join('; ')}. ${INSTALL_HINT}`);
}

/**
 * PgBouncer in transaction mode in front of the PostgreSQL at `upstreamUrl`: `PGBOUNCER_URL` when
 * set (it must front that same server), else Debian's `pgbouncer` started on 127.0.0.1. Not a
 * server kind of its own: it needs the URL of the PostgreSQL a run has already started.
 */
export async function startPgbouncer(upstreamUrl: string): Promise<RunningService> {
  const fromEnv = process.env.PGBOUNCER_URL;
  if (fromEnv) return { name: 'pgbouncer', url: fromEnv, source: 'env', stop: async () => {} };
  return startNativePgbouncer(upstreamUrl);
}
