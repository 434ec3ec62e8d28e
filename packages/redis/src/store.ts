import {
  BaseSessionStore,
  registerSecret,
  registerUrlSecrets,
  type SessionError,
  SessionValidationError,
  validateName,
} from '@sessions/core';
import { CONNECTION, RedisConnection } from './engine/connection.js';
import { DEFAULT_KEY_PREFIX } from './engine/keys.js';
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

  constructor(options: RedisSessionStoreOptions) {
    super(options, STORE_OPTION_KEYS);
    this.keyPrefix = validateName(options.keyPrefix ?? DEFAULT_KEY_PREFIX, 'keyPrefix');
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

  /** Checks that Redis answers and lets this user run scripts (there is no schema): see setup.ts. */
  protected override runSetup(): Promise<void> {
    return setupRedis(this.#connection.use(), this.keyPrefix);
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
