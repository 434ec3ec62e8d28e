import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, type RunningService, startFaultProxy, startService } from '../src/index.js';

let redis: RunningService;
let proxy: FaultProxy;
beforeAll(async () => {
  redis = await startService('redis');
  const url = new URL(redis.url);
  proxy = await startFaultProxy({ host: url.hostname, port: Number(url.port) });
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await redis?.stop();
});

function connect(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port: proxy.port }, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Sends PING; resolves with the reply, or 'silence' after `ms`, or 'closed'. */
function ping(socket: Socket, ms = 300): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done('silence'), ms);
    const onData = (data: Buffer) => done(data.toString().trim());
    const onClose = () => done('closed');
    function done(result: string) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(result);
    }
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write('PING\r\n');
  });
}

describe('the fault proxy', () => {
  it('passes, stalls (holding bytes until it passes again), blackholes and cuts', async () => {
    proxy.set('pass');
    const socket = await connect();
    expect(await ping(socket)).toBe('+PONG');
    proxy.set('stall');
    expect(await ping(socket)).toBe('silence');
    const answered = ping(socket, 2_000);
    proxy.set('pass');
    // The held PING and the new one both reach Redis once the stall ends.
    expect(await answered).toMatch(/^\+PONG/);
    proxy.set('blackhole');
    const swallowed = await connect();
    expect(await ping(swallowed)).toBe('silence');
    proxy.set('cut');
    expect(await ping(await connect(), 2_000)).toBe('closed');
    proxy.set('pass');
    expect(await ping(await connect())).toBe('+PONG');
    expect(proxy.connections).toBeGreaterThanOrEqual(4);
  });

  it('refuses to target anything but loopback', async () => {
    await expect(startFaultProxy({ host: '10.0.0.1', port: 1 })).rejects.toThrow(/loopback/);
  });
});
