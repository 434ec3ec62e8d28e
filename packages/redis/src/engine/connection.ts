import { ClientHandle, redactUrl, SessionTimeoutError, SessionValidationError } from '@sessions/core';
import { createClient, type RedisClientOptions, type RedisClientType } from 'redis';
import { type ClientFacts, isAuthenticationError } from '../errors.js';
import type { RedisSessionClient } from '../options.js';

/** node-redis' own connect timeout; a store never waits longer for one TCP connect attempt. */
export const MAX_CONNECT_TIMEOUT_MS = 5_000;

/** Set by a store on the options of the sessions it creates: the connection it manages. */
export const CONNECTION: unique symbol = Symbol('@sessions/redis connection');

/** Refuses anything that is not a node-redis client before it is used. */
export function assertClient(client: unknown, what = 'client'): asserts client is RedisSessionClient {
  const candidate = client as Partial<Record<'evalSha' | 'eval' | 'lRange' | 'del', unknown>> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.evalSha !== 'function' ||
    typeof candidate.eval !== 'function' ||
    typeof candidate.lRange !== 'function' ||
    typeof candidate.del !== 'function'
  ) {
    throw new SessionValidationError(
      `${what} must be a node-redis client from createClient() or createCluster() (package "redis" v5 or v6)`,
    );
  }
}

/**
 * The driver options a store sets from its `timeoutMs` (whatever `clientOptions` sets wins):
 * a TCP connect attempt gives up after `timeoutMs` (at most node-redis' 5 s), and a command
 * still waiting to be sent (the client is connecting or reconnecting) fails after `timeoutMs`.
 * No `socket.socketTimeout`: node-redis' is an idle timeout, which would close a quiet but
 * healthy connection and never fires while commands keep being written to a silent server;
 * the connection drops a silent socket itself instead (see `RedisConnection.settle`).
 */
export function driverOptions(
  url: string | undefined,
  options: RedisClientOptions | undefined,
  timeoutMs: number,
): RedisClientOptions {
  return {
    ...options,
    ...(url === undefined ? {} : { url }),
    socket: { connectTimeout: Math.min(timeoutMs, MAX_CONNECT_TIMEOUT_MS), ...options?.socket },
    commandOptions: { timeout: timeoutMs, ...options?.commandOptions },
  } as RedisClientOptions;
}

/**
 * How sessions reach Redis. Who owns the client is core's `ClientHandle` (a borrowed client is
 * never connected, reconnected, reconfigured or closed); on top of it, a store-created client is
 * connected on first use, its latest connection error is kept for error messages, and it is
 * dropped (to reconnect on the next call) when Redis stops answering or refuses the credentials.
 */
export class RedisConnection implements ClientFacts {
  readonly handle: ClientHandle<RedisSessionClient>;
  #connect: (() => void) | undefined;
  #drop: ((reason: Error) => void) | undefined;
  #lastError: unknown;
  #commandTimeoutMs: number | undefined;

  private constructor(handle: ClientHandle<RedisSessionClient>) {
    this.handle = handle;
  }

  /** A client the caller created, connected and will close. */
  static borrowed(client: unknown): RedisConnection {
    assertClient(client);
    return new RedisConnection(ClientHandle.borrowed(client));
  }

  /**
   * A standalone client the store creates from `url`/`clientOptions`. It is created here, not on
   * first use: node-redis parses the URL and options when it creates the client (no I/O), so a
   * bad URL is a `SessionValidationError` from the constructor. `isClosed` is the store's: a
   * closed store never connects its client again.
   */
  static owned(url: unknown, clientOptions: unknown, isClosed: () => boolean, timeoutMs: number): RedisConnection {
    if (url !== undefined && (typeof url !== 'string' || url.length === 0)) {
      throw new SessionValidationError('url must be a non-empty string');
    }
    if (clientOptions !== undefined && (clientOptions === null || typeof clientOptions !== 'object')) {
      throw new SessionValidationError('clientOptions must be an object of node-redis client options');
    }
    if (url === undefined && clientOptions === undefined) {
      throw new SessionValidationError('RedisSessionStore needs url, clientOptions or client');
    }
    const options = driverOptions(url as string | undefined, clientOptions as RedisClientOptions, timeoutMs);
    let client: RedisClientType;
    try {
      client = createClient(options) as RedisClientType;
    } catch (error) {
      const where = url === undefined ? 'clientOptions' : `url ${redactUrl(url as string)}`;
      throw new SessionValidationError(`Cannot create a Redis client from ${where}: ${(error as Error).message}`);
    }
    const connection = new RedisConnection(
      ClientHandle.owned<RedisSessionClient>(
        () => client,
        () => release(client),
      ),
    );
    connection.#commandTimeoutMs = options.commandOptions?.timeout || undefined;
    connection.#drop = (reason) => {
      connection.#lastError = reason;
      // destroy() fails every queued and in-flight command at once; the next call reconnects.
      if (client.isOpen) client.destroy();
    };
    // node-redis emits every socket error (and each failed reconnection attempt) as an 'error'
    // event; without a listener Node would crash the process. Keep the latest for messages.
    client.on('error', (error: unknown) => {
      connection.#lastError = error;
      // Wrong credentials never heal by retrying in the background: fail the waiting calls now
      // (as SessionAuthenticationError) instead of after the command timeout; the next call
      // tries again, so a password fixed on the server is picked up.
      if (isAuthenticationError(error)) connection.#drop?.(error as Error);
    });
    // Reached: a connection error seen before is no longer the reason a command waits.
    client.on('connect', () => {
      connection.#lastError = undefined;
    });
    client.on('ready', () => {
      connection.#lastError = undefined;
    });
    connection.#connect = () => {
      if (client.isOpen || isClosed()) return;
      // connect() marks the client open at once and retries in the background until the
      // server answers; commands sent meanwhile wait in the offline queue (bounded by the
      // command timeout). A connect that gives up for good is retried on the next call.
      client.connect().catch((error: unknown) => {
        connection.#lastError ??= error;
      });
    };
    return connection;
  }

  get owned(): boolean {
    return this.handle.owned;
  }

  lastError(): unknown {
    return this.#lastError;
  }

  /** How long a store-created client lets a command wait to be sent; undefined for a borrowed client. */
  get commandTimeoutMs(): number | undefined {
    return this.#commandTimeoutMs;
  }

  /** The client for the next command: a store-created client that is not open starts connecting. */
  use(): RedisSessionClient {
    const client = this.handle.client;
    this.#connect?.();
    return client;
  }

  /**
   * Called with every failure of a call: a call on a store-created client that got no answer
   * within its deadline means the socket is silent (a dead network path, a hung server, or a
   * handshake never answered). Redis multiplexes one connection, so the only way to abandon
   * the call is to drop the socket; the next call reconnects. Borrowed clients are left alone.
   */
  settle(error: unknown): void {
    if (!(error instanceof SessionTimeoutError)) return;
    this.#drop?.(
      new Error(
        `Redis did not answer within ${error.timeoutMs} ms; the store closed that connection and reconnects on the next call`,
      ),
    );
  }
}

async function release(client: RedisClientType): Promise<void> {
  if (!client.isOpen) return;
  // A ready client finishes the commands in flight; one that is still (re)connecting has
  // nothing to finish and might never reach the server, so it is torn down at once.
  if (client.isReady) await client.close();
  else client.destroy();
}
