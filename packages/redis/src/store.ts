import {
  BaseSessionStore,
  type BaseSessionStoreOptions,
  redactUrl,
  SessionValidationError,
  validateName,
} from '@sessions/core';
import { createClient, type RedisClientOptions, type RedisClientType } from 'redis';
import { assertClient, borrowedConnection, type Connection, type RedisSessionClient } from './client.js';
import { DEFAULT_KEY_PREFIX } from './keys.js';
import { CONNECTION, RedisSession } from './session.js';

/**
 * How long a store-created client keeps a command waiting while it is disconnected before
 * failing it with `SessionConnectionError` (node-redis `commandOptions.timeout`). A command
 * that was already sent is not timed out: its outcome depends on the server.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

export interface RedisSessionStoreOptions extends BaseSessionStoreOptions {
  /**
   * `redis[s]://[[user][:password]@]host[:port][/db]`. The store creates a standalone client
   * (connected on first use) and closes it in `close()`.
   */
  url?: string;
  /** More node-redis `createClient()` options for the store's own client (TLS, credentials, timeouts…). */
  clientOptions?: RedisClientOptions;
  /**
   * Your own connected client from `createClient()` or `createCluster()`, instead of `url`.
   * The store never connects or closes it.
   */
  client?: RedisSessionClient;
  /** First part of every key; letters, digits and `_`, at most 48 characters (default `sessions`). */
  keyPrefix?: string;
}

/**
 * Sessions in Redis or Redis Cluster. `store.session(id)` does no I/O; a client the store
 * created connects on first use and is closed by `close()` (or `await using`).
 */
export class RedisSessionStore extends BaseSessionStore<RedisSession> {
  readonly keyPrefix: string;
  readonly #connection: Connection;

  constructor(options: RedisSessionStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new SessionValidationError('RedisSessionStore options must be an object: { url } or { client }');
    }
    super(options);
    this.keyPrefix = validateName(options.keyPrefix ?? DEFAULT_KEY_PREFIX, 'keyPrefix');
    if (options.client !== undefined) {
      if (options.url !== undefined || options.clientOptions !== undefined) {
        throw new SessionValidationError('Pass either client or url/clientOptions, not both');
      }
      assertClient(options.client);
      this.#connection = borrowedConnection(options.client);
    } else {
      this.#connection = ownedConnection(options.url, options.clientOptions);
    }
  }

  /** The client sessions of this store use (the store's own, or the one passed in). */
  get client(): RedisSessionClient {
    return this.#connection.client;
  }

  protected createSession(sessionId: string): RedisSession {
    return new RedisSession({
      sessionId,
      client: this.#connection.client,
      keyPrefix: this.keyPrefix,
      ttlSeconds: this.ttlSeconds,
      isClosed: this.isClosed,
      [CONNECTION]: this.#connection,
    } as ConstructorParameters<typeof RedisSession>[0]);
  }

  protected override async releaseResources(): Promise<void> {
    await this.#connection.close();
  }
}

function ownedConnection(url: string | undefined, clientOptions: RedisClientOptions | undefined): Connection {
  if (url !== undefined && (typeof url !== 'string' || url.length === 0)) {
    throw new SessionValidationError('url must be a non-empty string');
  }
  if (clientOptions !== undefined && (clientOptions === null || typeof clientOptions !== 'object')) {
    throw new SessionValidationError('clientOptions must be an object of node-redis client options');
  }
  if (url === undefined && clientOptions === undefined) {
    throw new SessionValidationError('RedisSessionStore needs url, clientOptions or client');
  }
  let client: RedisClientType;
  try {
    client = createClient({
      ...clientOptions,
      ...(url === undefined ? {} : { url }),
      commandOptions: { timeout: DEFAULT_COMMAND_TIMEOUT_MS, ...clientOptions?.commandOptions },
    }) as RedisClientType;
  } catch (error) {
    const where = url === undefined ? 'clientOptions' : `url ${redactUrl(url)}`;
    throw new SessionValidationError(`Cannot create a Redis client from ${where}: ${(error as Error).message}`);
  }
  let lastError: unknown;
  // node-redis emits every socket error (and each failed reconnection attempt) as an 'error'
  // event; without a listener Node would crash the process. Keep the latest for messages.
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  client.on('ready', () => {
    lastError = undefined;
  });
  let closed = false;
  return {
    client,
    owned: true,
    prepare() {
      if (client.isOpen || closed) return;
      // connect() marks the client open at once and retries in the background until the
      // server answers; commands sent meanwhile wait in the offline queue (bounded by the
      // command timeout). A connect that gives up for good is retried on the next call.
      client.connect().catch((error: unknown) => {
        lastError = error;
      });
    },
    lastError: () => lastError,
    async close() {
      closed = true;
      if (!client.isOpen) return;
      // A ready client finishes the commands in flight; one that is still (re)connecting has
      // nothing to finish and might never reach the server, so it is torn down at once.
      if (client.isReady) await client.close();
      else client.destroy();
    },
  };
}
