import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningService } from '../types.js';
import { INSTALL_HINT, servicesDir, which } from './locate.js';
import { freePort, makeTempDir, spawnServer, waitForPort } from './process.js';

/** FerretDB 1.x (MongoDB wire protocol, SQLite handler) built by scripts/install-test-services. */
export async function startNativeFerretDB(): Promise<RunningService> {
  const installed = join(servicesDir(), 'bin', 'ferretdb-launcher');
  const binary = process.env.FERRETDB_BIN ?? (existsSync(installed) ? installed : which('ferretdb-launcher'));
  if (!binary) throw new Error(`FerretDB (ferretdb-launcher) was not found. ${INSTALL_HINT}`);
  const port = await freePort();
  const dir = makeTempDir('ferretdb');
  const args = ['--listen-addr', `127.0.0.1:${port}`, '--sqlite-url', `file:${dir.path}/`];
  const start = async () => {
    const server = spawnServer(binary, args);
    try {
      await waitForPort(port, 20_000, server.alive);
    } catch (error) {
      await server.stop();
      throw new Error(`FerretDB did not start: ${(error as Error).message}\n${server.output()}`);
    }
    return server;
  };
  let server = await start();
  return {
    name: 'mongodb',
    url: `mongodb://127.0.0.1:${port}/`,
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
