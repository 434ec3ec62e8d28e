import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, makeTempDir, spawnServer, waitForPort } from '@sessions/test-services';
import mysql from 'mysql2/promise';

// The `mysql` test server kind: MariaDB from Debian's packages (`mariadb-server`, installed by
// scripts/install-test-services), started natively; `MYSQL_URL` names an existing server instead.
export const service = 'mysql';
export const env = 'MYSQL_URL';

const run = promisify(execFile);

/** The first of `names` found in the usual Debian places or on PATH. */
function locate(...names: string[]): string | undefined {
  const dirs = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (dir && existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', name]).toString().trim()),
      gid: Number(execFileSync('id', ['-g', name]).toString().trim()),
    };
  } catch {
    return undefined;
  }
}

/** The user, password and database the tests connect with (root stays on the Unix socket). */
const USER = 'sessions';
const DATABASE = 'sessions';

/**
 * `mariadb-install-db` + `mariadbd` in a temp dir on a free loopback port, durability traded for
 * speed (no binlog, no doublewrite, log flushed once a second). As root both run as the `mysql`
 * user. A user with a password (random per server) gets every privilege, over TCP only.
 */
export async function startNativeServer() {
  const server = locate('mariadbd', 'mysqld');
  const installDb = locate('mariadb-install-db', 'mysql_install_db');
  if (!server || !installDb) {
    throw new Error(
      'MariaDB server binaries (mariadbd, mariadb-install-db) were not found: apt-get install mariadb-server',
    );
  }
  const owner = process.getuid?.() === 0 ? userIds('mysql') : undefined;
  if (process.getuid?.() === 0 && !owner) throw new Error('Running as root needs a `mysql` user to run MariaDB');
  const dir = makeTempDir('mariadb', owner);
  const data = join(dir.path, 'data');
  const socket = join(dir.path, 'mysqld.sock');
  const asOwner = { uid: owner?.uid, gid: owner?.gid, cwd: dir.path };
  await run(
    installDb,
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      ...(owner ? ['--user=mysql'] : []),
    ],
    asOwner,
  );
  const port = await freePort();
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${socket}`,
    `--pid-file=${join(dir.path, 'mysqld.pid')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    '--skip-log-bin',
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-doublewrite=0',
    '--innodb-buffer-pool-size=128M',
    '--max-connections=300',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
  ];
  const start = async () => {
    const process_ = spawnServer(server, args, asOwner);
    try {
      await waitForPort(port, 60_000, process_.alive);
    } catch (error) {
      await process_.stop();
      throw new Error(`mariadbd did not start: ${(error as Error).message}\n${process_.output()}`);
    }
    return process_;
  };
  let running = await start();
  const password = randomBytes(12).toString('hex');
  try {
    const root = await mysql.createConnection({ socketPath: socket, user: 'root' });
    try {
      await root.query(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${password}'`);
      await root.query(`GRANT ALL PRIVILEGES ON *.* TO '${USER}'@'%' WITH GRANT OPTION`);
      await root.query(`CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4`);
    } finally {
      await root.end();
    }
  } catch (error) {
    await running.stop();
    dir.remove();
    throw error;
  }
  return {
    name: service,
    url: `mysql://${USER}:${password}@127.0.0.1:${port}/${DATABASE}`,
    source: 'native' as const,
    /** The server's version string, for the test log. */
    version: (await run(server, ['--version'])).stdout.trim(),
    async stop() {
      await running.stop();
      dir.remove();
    },
    async restart() {
      await running.stop();
      running = await start();
    },
    /** SIGKILL, then start again: a crash rather than a shutdown. */
    async kill() {
      running.child.kill('SIGKILL');
      await running.stop();
      running = await start();
    },
  };
}
