import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningService } from '../types.js';
import { INSTALL_HINT, servicesDir, which } from './locate.js';
import { freePort, makeTempDir, spawnServer, waitForPort } from './process.js';

/** The official DynamoDB Local (jars from Maven Central) with its on-disk SQLite store. */
export async function startNativeDynamoDBLocal(): Promise<RunningService> {
  const lib = process.env.DYNAMODB_LOCAL_LIB ?? join(servicesDir(), 'dynamodb-local', 'lib');
  if (!existsSync(lib)) throw new Error(`DynamoDB Local was not found in ${lib}. ${INSTALL_HINT}`);
  const java =
    process.env.JAVA_BIN ?? (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : which('java'));
  if (!java) throw new Error(`DynamoDB Local needs a Java runtime (java) on PATH. ${INSTALL_HINT}`);
  const port = await freePort();
  const dir = makeTempDir('dynamodb');
  const args = [
    '-Xmx512m',
    `-Djava.library.path=${lib}`,
    '-cp',
    `${lib}/*`,
    'com.amazonaws.services.dynamodbv2.local.main.ServerRunner',
    '-port',
    String(port),
    '-dbPath',
    dir.path,
    '-sharedDb',
    '-disableTelemetry',
  ];
  const start = async () => {
    const server = spawnServer(java, args, { cwd: dir.path });
    try {
      await waitForPort(port, 60_000, server.alive);
    } catch (error) {
      await server.stop();
      throw new Error(`DynamoDB Local did not start: ${(error as Error).message}\n${server.output()}`);
    }
    return server;
  };
  let server = await start();
  return {
    name: 'dynamodb',
    url: `http://127.0.0.1:${port}`,
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
