// Refused credentials are SessionAuthenticationError (issue #15). No libSQL server runs here
// (sqld is in no package registry), so two stand-ins answer as sqld does when it refuses a token,
// through the real `@libsql/client` transports: over HTTP, status 401 with sqld's JSON body; over
// WebSocket, the `hello_error` with sqld's AUTH_* code.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  SessionAuthenticationError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
} from '@sessions/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SqliteSessionStore } from '../src/index.js';

const TOKEN = 'not-the-right-token-5f3a';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Upgraded (WebSocket) sockets are no longer the server's to close: end them here.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (_request, socket: Duplex) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
  });
  onTestFinished(() => {
    for (const socket of upgraded) socket.destroy();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

/** An HTTP server answering every request as sqld answers a refused token (libsql-server error.rs). */
async function refusingHttpServer(status: number): Promise<number> {
  return listen(
    createServer((request, response) => {
      request.resume();
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'Authentication failed: The JWT is invalid' }));
    }),
  );
}

/** One unmasked WebSocket text frame (server to client). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, payload.length])
      : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

/**
 * A WebSocket server that accepts the hrana subprotocol and answers the client's first message
 * (its `hello` with the token) with sqld's `hello_error` for an invalid JWT.
 */
async function refusingWsServer(): Promise<number> {
  const server = createServer((_request, response) => response.writeHead(404).end());
  server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    const key = String(request.headers['sec-websocket-key']);
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(/,\s*/);
    const protocol = offered.includes('hrana2') ? 'hrana2' : offered[0];
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
    );
    socket.once('data', () => {
      socket.write(
        textFrame(
          JSON.stringify({
            type: 'hello_error',
            error: { message: 'Authentication failed: The JWT is invalid', code: 'AUTH_JWT_INVALID' },
          }),
        ),
      );
    });
    socket.on('error', () => {});
  });
  return listen(server);
}

async function failure(call: Promise<unknown>): Promise<SessionError> {
  return call.then(
    () => expect.fail('the call succeeded'),
    (error: SessionError) => error,
  );
}

function expectAuthenticationError(error: SessionError, operation: string): void {
  expect(error, error.message).toBeInstanceOf(SessionAuthenticationError);
  expect(error).toBeInstanceOf(SessionStorageError);
  expect(error).not.toBeInstanceOf(SessionConnectionError);
  expect(error.code).toBe('AUTHENTICATION');
  expect(error.retryable).toBe(false);
  expect((error as SessionAuthenticationError).operation).toBe(operation);
  expect(JSON.stringify(error) + error.message + String(error.stack)).not.toContain(TOKEN);
}

describe('a libSQL server that refuses the token', () => {
  for (const status of [401, 403]) {
    it(`HTTP ${status}: SessionAuthenticationError, not retryable, for reads, writes and setup()`, async () => {
      const port = await refusingHttpServer(status);
      await using store = new SqliteSessionStore({
        url: `http://127.0.0.1:${port}`,
        authToken: TOKEN,
        timeoutMs: 2000,
      });
      expectAuthenticationError(await failure(store.session('s').getItems()), 'getItems');
      expectAuthenticationError(
        await failure(store.session('s').addItems([{ role: 'user', content: 'x' }])),
        'addItems',
      );
      expectAuthenticationError(await failure(store.setup()), 'setup');
    });
  }

  it('WebSocket hello_error AUTH_JWT_INVALID: SessionAuthenticationError', async () => {
    const port = await refusingWsServer();
    await using store = new SqliteSessionStore({ url: `ws://127.0.0.1:${port}`, authToken: TOKEN, timeoutMs: 2000 });
    const error = await failure(store.session('s').getItems());
    expectAuthenticationError(error, 'getItems');
    expect(error.message).toMatch(/AUTH_JWT_INVALID/);
  });
});
