/**
 * A TCP proxy on 127.0.0.1 that misbehaves on demand, for tests that prove every call ends in
 * bounded time and every store heals (issue: bounded time). Modes, switched at any moment:
 * - `pass`: forwards both ways;
 * - `stall`: keeps every connection open and accepts new ones, but forwards nothing (a server
 *   that stops answering mid-use; bytes are held, not dropped, and flow again on `pass`);
 * - `blackhole`: accepts connections and swallows everything, forever (a server that accepts
 *   and never answers; nothing is held for later);
 * - `cut`: destroys every open connection and each new one as soon as it sends its first bytes
 *   (a crash after the request);
 * - `slow`: forwards each chunk after `delayMs`.
 * Only loopback addresses, and `close()` ends everything it opened.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'stall' | 'blackhole' | 'cut' | 'slow';

export interface FaultProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  set(mode: FaultMode, options?: { delayMs?: number }): void;
  readonly mode: FaultMode;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  /** Chunks held while stalled, per direction. */
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
}

/** A fault proxy in front of the server of `url` (`defaultPort` when the URL has none). */
export function startFaultProxyFor(url: string, defaultPort: number): Promise<FaultProxy> {
  const { hostname, port } = new URL(url);
  return startFaultProxy({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort) });
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(target.host)) {
    throw new Error(`the fault proxy only targets loopback addresses, not ${target.host}`);
  }
  let mode: FaultMode = 'pass';
  let delayMs = 0;
  let connections = 0;
  const pairs = new Set<Pair>();

  const forward = (pair: Pair, direction: 'toUpstream' | 'toClient', chunk: Buffer) => {
    const to = direction === 'toUpstream' ? pair.upstream : pair.client;
    if (mode === 'blackhole') return;
    if (mode === 'stall') {
      pair.held[direction].push(chunk);
      return;
    }
    if (mode === 'slow') {
      setTimeout(() => to?.destroyed === false && to.write(chunk), delayMs).unref();
      return;
    }
    to?.write(chunk);
  };

  const server: Server = createServer((client) => {
    connections++;
    const pair: Pair = { client, upstream: undefined, held: { toUpstream: [], toClient: [] } };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('error', end);
    client.on('close', end);
    if (mode === 'blackhole') {
      client.on('data', () => {});
      return;
    }
    const upstream = createConnection({ host: target.host, port: target.port });
    pair.upstream = upstream;
    upstream.on('error', end);
    upstream.on('close', end);
    client.on('data', (chunk: Buffer) => {
      if (mode === 'cut') return end();
      forward(pair, 'toUpstream', chunk);
    });
    upstream.on('data', (chunk: Buffer) => forward(pair, 'toClient', chunk));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  return {
    port,
    via(url: string) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    get mode() {
      return mode;
    },
    get connections() {
      return connections;
    },
    set(next: FaultMode, options: { delayMs?: number } = {}) {
      mode = next;
      delayMs = options.delayMs ?? 200;
      if (next === 'cut') for (const pair of [...pairs]) pair.client.destroy();
      if (next === 'pass' || next === 'slow') {
        // Release what a stall held back, in order.
        for (const pair of pairs) {
          for (const chunk of pair.held.toUpstream.splice(0)) pair.upstream?.write(chunk);
          for (const chunk of pair.held.toClient.splice(0)) pair.client.write(chunk);
        }
      }
    },
    async close() {
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
