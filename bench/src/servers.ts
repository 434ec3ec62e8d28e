/**
 * The real servers the tests use (via `@sessions/test-services`: an environment URL, a container,
 * or a native server on 127.0.0.1), each with a counting proxy in front of it. Timings use the
 * direct URL; round trips are counted on a second set of clients that connect through the proxy,
 * so the proxy never adds latency to a timed operation.
 */
import { type RunningService, type ServiceName, startService } from '@sessions/test-services';
import { type CountingProxy, startCountingProxy } from './proxy.ts';

export interface BenchServer {
  name: ServiceName;
  source: RunningService['source'];
  /** Direct URL (for DynamoDB the endpoint), used for timing. */
  url: string;
  /** The same server through the counting proxy. */
  countedUrl: string;
  counter: CountingProxy;
  stop(): Promise<void>;
}

export async function startBenchServer(name: ServiceName): Promise<BenchServer> {
  const service = await startService(name);
  try {
    const direct = new URL(service.url);
    const host = direct.hostname.replace(/^\[|\]$/g, '');
    const port = Number(direct.port || defaultPort(name));
    if (name === 'redis' && service.source !== 'env') await relaxRedisFsync(service.url);
    const counter = await startCountingProxy(host, port);
    const counted = new URL(service.url);
    counted.hostname = '127.0.0.1';
    counted.port = String(counter.port);
    // The MongoDB driver would otherwise follow the server's own idea of its address.
    if (name === 'mongodb') counted.searchParams.set('directConnection', 'true');
    return {
      name,
      source: service.source,
      url: service.url,
      countedUrl: counted.toString(),
      counter,
      async stop() {
        await counter.close();
        await service.stop();
      },
    };
  } catch (error) {
    await service.stop();
    throw error;
  }
}

/**
 * The test servers favour durability differently: PostgreSQL runs with `fsync=off`, Redis with
 * `appendfsync always` (an fsync per write, whose jitter would drown the libraries' own cost).
 * On a server this run started, Redis is switched to `everysec`, its documented default for AOF.
 * A server given by an environment URL is left alone.
 */
async function relaxRedisFsync(url: string): Promise<void> {
  const { createClient } = await import('redis');
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.configSet('appendfsync', 'everysec');
  } finally {
    await client.close();
  }
}

function defaultPort(name: ServiceName): number {
  return ({ redis: 6379, postgres: 5432, mongodb: 27017, dynamodb: 8000 } as Record<string, number>)[name] ?? 0;
}

/** Hides credentials in URLs before they are printed or written to the results. */
export { redactUrl as redact } from '@sessions/core';
