/**
 * A counting TCP proxy on 127.0.0.1 in front of one database server.
 *
 * Method: per client connection, a *round trip* starts when the client writes after the server
 * last answered (or for the first time) and ends when the server answers. Any number of client
 * chunks sent before the server's answer (pipelining, a request split over several TCP writes)
 * therefore count as one round trip; any number of response chunks count as one answer. Counts
 * are summed over every connection (so a pool counts too). This is exact for request/response
 * protocols (RESP, the PostgreSQL protocol, MongoDB OP_MSG, HTTP/1.1) as long as the server never
 * speaks first, which none of them does on a data connection. New connections are counted
 * separately (their handshakes are round trips too, but they happen during warm-up).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface RoundTripCounter {
  /** Round trips (client request bursts answered by the server) since the last reset. */
  readonly roundTrips: number;
  /** Client→server TCP chunks and server→client TCP chunks since the last reset. */
  readonly requestChunks: number;
  readonly responseChunks: number;
  /** Connections opened since the last reset. */
  readonly connections: number;
  reset(): void;
}

export interface CountingProxy extends RoundTripCounter {
  /** Where clients should connect. */
  readonly port: number;
  close(): Promise<void>;
}

export async function startCountingProxy(targetHost: string, targetPort: number): Promise<CountingProxy> {
  let roundTrips = 0;
  let requestChunks = 0;
  let responseChunks = 0;
  let connections = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect({ host: targetHost, port: targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    // true while a request burst is waiting for its answer
    let awaitingAnswer = false;
    client.on('data', (chunk) => {
      requestChunks++;
      if (!awaitingAnswer) {
        awaitingAnswer = true;
        roundTrips++;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('data', (chunk) => {
      responseChunks++;
      awaitingAnswer = false;
      if (!client.write(chunk)) upstream.pause();
    });
    upstream.on('drain', () => client.resume());
    client.on('drain', () => upstream.resume());
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('proxy did not get a port');

  return {
    port: address.port,
    get roundTrips() {
      return roundTrips;
    },
    get requestChunks() {
      return requestChunks;
    },
    get responseChunks() {
      return responseChunks;
    },
    get connections() {
      return connections;
    },
    reset() {
      roundTrips = 0;
      requestChunks = 0;
      responseChunks = 0;
      connections = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A counter for backends without a network protocol (SQLite on a local file). */
export const IN_PROCESS: RoundTripCounter = {
  roundTrips: 0,
  requestChunks: 0,
  responseChunks: 0,
  connections: 0,
  reset() {},
};
