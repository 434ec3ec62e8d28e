import type { RunningService } from '../types.js';
import { INSTALL_HINT, which } from './locate.js';
import { freePort, makeTempDir, spawnServer, waitForPort } from './process.js';

export function redisServerBinary(): string {
  const binary = process.env.REDIS_SERVER_BIN ?? which('redis-server', ['/usr/bin', '/usr/local/bin']);
  if (!binary) throw new Error(`redis-server was not found. ${INSTALL_HINT}`);
  return binary;
}

/** Starts `redis-server` on a free loopback port with append-only persistence in a temp dir. */
export async function startNativeRedis(extraArgs: string[] = []): Promise<RunningService & { port: number }> {
  const binary = redisServerBinary();
  const port = await freePort();
  const dir = makeTempDir('redis');
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir.path,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
    ...extraArgs,
  ];
  const start = async () => {
    const server = spawnServer(binary, args);
    try {
      await waitForPort(port, 15_000, server.alive);
    } catch (error) {
      await server.stop();
      throw new Error(`redis-server did not start: ${(error as Error).message}\n${server.output()}`);
    }
    return server;
  };
  let server = await start();
  return {
    name: 'redis',
    url: `redis://127.0.0.1:${port}`,
    source: 'native',
    port,
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
