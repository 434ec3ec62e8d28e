import {
  BaseSessionStore,
  type CatalogPosition,
  type CatalogQuery,
  registerSecret,
  registerUrlSecrets,
  type SessionError,
  type SessionInfo,
  SessionValidationError,
  validateName,
} from '@sessions/core';
import { listCatalog, readSessionInfo, runSessionWrite } from './engine/catalog.js';
import { CONNECTION, RedisConnection } from './engine/connection.js';
import { type CatalogKeys, catalogKeys, DEFAULT_KEY_PREFIX, sessionKeys } from './engine/keys.js';
import { DELETE } from './engine/scripts.js';
import { toRedisSessionError } from './errors.js';
import {
  type RedisSessionClient,
  type RedisSessionOptions,
  type RedisSessionStoreOptions,
  STORE_OPTION_KEYS,
} from './options.js';
import { RedisSession } from './session.js';
import { setupRedis } from './setup.js';

/**
 * Sessions in Redis or Redis Cluster. `store.session(id)` does no I/O; a client the store
 * created connects on first use and is closed by `close()` (or `await using`); a client passed
 * in is never connected or closed.
 */
export class RedisSessionStore extends BaseSessionStore<RedisSession> {
  readonly keyPrefix: string;
  readonly #connection: RedisConnection;
  readonly #catalog: CatalogKeys;

  constructor(options: RedisSessionStoreOptions) {
    super(options, STORE_OPTION_KEYS);
    this.keyPrefix = validateName(options.keyPrefix ?? DEFAULT_KEY_PREFIX, 'keyPrefix');
    this.#catalog = catalogKeys(this.keyPrefix);
    if (options.client !== undefined) {
      if (options.url !== undefined || options.clientOptions !== undefined) {
        throw new SessionValidationError('Pass either client or url/clientOptions, not both');
      }
      this.#connection = RedisConnection.borrowed(options.client);
    } else {
      // Before the client exists: whatever prints an error or the options from now on masks them.
      if (typeof options.url === 'string') registerUrlSecrets(options.url);
      const { password, url } = (options.clientOptions ?? {}) as { password?: unknown; url?: unknown };
      registerSecret(password);
      if (typeof url === 'string') registerUrlSecrets(url);
      this.#connection = RedisConnection.owned(options.url, options.clientOptions, this.isClosed, this.timeoutMs);
    }
    this.adopt(this.#connection.handle);
  }

  /** The client sessions of this store use (the store's own, or the one passed in). Never connects it. */
  get client(): RedisSessionClient {
    return this.#connection.handle.client;
  }

  protected createSession(sessionId: string): RedisSession {
    const options = { ...this.sessionOptions(sessionId), keyPrefix: this.keyPrefix, [CONNECTION]: this.#connection };
    return new RedisSession(options as unknown as RedisSessionOptions);
  }

  /** Checks that Redis answers and lets this user run scripts, then backfills the catalog: see setup.ts. */
  protected override runSetup(): Promise<void> {
    return setupRedis(this.#connection.use(), this.keyPrefix);
  }

  /** A sorted-set range and the entries of the sessions in it: see engine/catalog.ts. */
  protected listCatalog(query: CatalogQuery): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
    return listCatalog(this.#connection.use(), this.keyPrefix, this.#catalog, query);
  }

  protected readSessionInfo(sessionId: string): Promise<SessionInfo | undefined> {
    return readSessionInfo(this.#connection.use(), this.keyPrefix, this.#catalog, sessionId);
  }

  protected async removeSession(sessionId: string): Promise<void> {
    const keys = sessionKeys(this.keyPrefix, sessionId);
    await runSessionWrite(this.#connection.use(), DELETE, keys, this.#catalog, sessionId, 'del', '0', []);
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toRedisSessionError(operation, error, this.#connection);
  }

  /** As a session's: a `setup()` that timed out drops a store-created client's silent socket. */
  protected override async run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await super.run(operation, body);
    } catch (error) {
      this.#connection.settle(error);
      throw error;
    }
  }

  /** Never the URL or the client options: only the namespace and who owns the client. */
  protected override describe(): Record<string, unknown> {
    return { keyPrefix: this.keyPrefix, ownsClient: this.#connection.owned };
  }
}
