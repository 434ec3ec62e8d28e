import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { INSTALL_HINT, which } from './locate.js';
import { startNativeRedis } from './redis.js';

const run = promisify(execFile);

export interface RunningRedisCluster {
  /** Root nodes to give a cluster client. */
  rootNodes: { url: string }[];
  stop(): Promise<void>;
}

/** Three masters on loopback joined with `redis-cli --cluster create`, all slots covered. */
export async function startNativeRedisCluster(): Promise<RunningRedisCluster> {
  const cli = process.env.REDIS_CLI_BIN ?? which('redis-cli', ['/usr/bin', '/usr/local/bin']);
  if (!cli) throw new Error(`redis-cli was not found. ${INSTALL_HINT}`);
  const nodes = await Promise.all(
    [0, 1, 2].map(() =>
      startNativeRedis(['--cluster-enabled', 'yes', '--cluster-node-timeout', '5000', '--appendonly', 'no']),
    ),
  );
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    await run(cli, [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      for (;;) {
        const { stdout } = await run(cli, ['-p', String(node.port), 'cluster', 'info']);
        if (stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster did not become ready:\n${stdout}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { rootNodes: nodes.map((n) => ({ url: n.url })), stop };
}
