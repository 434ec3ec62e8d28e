import { ClientHandle, redactUrl, SessionValidationError } from '@sessions/core';
import { createClient, type RedisClientOptions, type RedisClientType } from 'redis';
import type { ClientFacts } from '../errors.js';
import type { RedisSessionClient } from '../options.js';

/**
 * How long a store-created client keeps a command waiting while it is disconnected before
 * failing it with `SessionConnectionError` (node-redis `commandOptions.timeout`). A command
 * that was already sent is not timed out: its outcome depends on the server.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

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
 * How sessions reach Redis. Who owns the client is core's `ClientHandle` (a borrowed client is
 * never connected, reconnected or closed); on top of it, a store-created client is connected on
 * first use and its latest socket error is kept for error messages.
 */
export class RedisConnection implements ClientFacts {
  readonly handle: ClientHandle<RedisSessionClient>;
  #connect: (() => void) | undefined;
  #lastError: unknown;

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
  static owned(url: unknown, clientOptions: unknown, isClosed: () => boolean): RedisConnection {
    if (url !== undefined && (typeof url !== 'string' || url.length === 0)) {
      throw new SessionValidationError('url must be a non-empty string');
    }
    if (clientOptions !== undefined && (clientOptions === null || typeof clientOptions !== 'object')) {
      throw new SessionValidationError('clientOptions must be an object of node-redis client options');
    }
    if (url === undefined && clientOptions === undefined) {
      throw new SessionValidationError('RedisSessionStore needs url, clientOptions or client');
    }
    const options = clientOptions as RedisClientOptions | undefined;
    let client: RedisClientType;
    try {
      client = createClient({
        ...options,
        ...(url === undefined ? {} : { url }),
        commandOptions: { timeout: DEFAULT_COMMAND_TIMEOUT_MS, ...options?.commandOptions },
      }) as RedisClientType;
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
    // node-redis emits every socket error (and each failed reconnection attempt) as an 'error'
    // event; without a listener Node would crash the process. Keep the latest for messages.
    client.on('error', (error: unknown) => {
      connection.#lastError = error;
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
        connection.#lastError = error;
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

  /** The client for the next command: a store-created client that is not open starts connecting. */
  use(): RedisSessionClient {
    const client = this.handle.client;
    this.#connect?.();
    return client;
  }
}

async function release(client: RedisClientType): Promise<void> {
  if (!client.isOpen) return;
  // A ready client finishes the commands in flight; one that is still (re)connecting has
  // nothing to finish and might never reach the server, so it is torn down at once.
  if (client.isReady) await client.close();
  else client.destroy();
}
