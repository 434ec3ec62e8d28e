import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunningService } from '../types.js';
import { INSTALL_HINT, postgresBinDir, userIds } from './locate.js';
import { freePort, makeTempDir, spawnServer, waitForPort } from './process.js';

const run = promisify(execFile);

/**
 * initdb + postgres in a temp dir on a free loopback port, trust auth, durability traded
 * for speed (fsync off). As root both run as the `postgres` user, which PostgreSQL requires.
 */
export async function startNativePostgres(): Promise<RunningService> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(`PostgreSQL server binaries (initdb, postgres) were not found. ${INSTALL_HINT}`);
  const owner = process.getuid?.() === 0 ? userIds('postgres') : undefined;
  if (process.getuid?.() === 0 && !owner) throw new Error('Running as root needs a `postgres` user to run PostgreSQL');
  const dir = makeTempDir('postgres', owner);
  const data = join(dir.path, 'data');
  await run(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    {
      uid: owner?.uid,
      gid: owner?.gid,
      cwd: dir.path,
    },
  );
  const port = await freePort();
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-h',
    '127.0.0.1',
    '-k',
    dir.path,
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=300',
  ];
  const start = async () => {
    const server = spawnServer(join(bin, 'postgres'), args, {
      uid: owner?.uid,
      gid: owner?.gid,
      cwd: dir.path,
      stopSignal: 'SIGINT',
    });
    try {
      await waitForPort(port, 30_000, server.alive);
      await waitForReady(bin, port, owner);
    } catch (error) {
      await server.stop();
      throw new Error(`postgres did not start: ${(error as Error).message}\n${server.output()}`);
    }
    return server;
  };
  let server = await start();
  return {
    name: 'postgres',
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    source: 'native',
    async stop() {
      await server.stop();
      dir.remove();
    },
    async restart() {
      await server.stop();
      server = await start();
    },
  };
}

async function waitForReady(bin: string, port: number, owner?: { uid: number; gid: number }) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await run(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], {
        uid: owner?.uid,
        gid: owner?.gid,
      });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
