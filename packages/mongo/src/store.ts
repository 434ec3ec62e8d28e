import { BaseSessionStore, type BaseSessionStoreOptions, redactUrl, SessionValidationError } from '@sessions/core';
import { type Db, MongoClient, type MongoClientOptions } from 'mongodb';
import { ensureIndexes, type Namespace, resolveNamespace, toMongoSessionError } from './layout.js';
import { MongoSession } from './session.js';

export interface MongoSessionStoreOptions extends BaseSessionStoreOptions {
  /**
   * `mongodb://…` or `mongodb+srv://…`. The store creates a `MongoClient` (it connects on first
   * use) and closes it in `close()`. The database comes from `database`, not from the URL path.
   */
  url?: string;
  /** More `MongoClient` options for the store's own client (TLS, pool size, timeouts…). */
  clientOptions?: MongoClientOptions;
  /** Your own `MongoClient` instead of `url`; the store never closes it. */
  client?: MongoClient;
  /** Or your own `Db` (then `database` must not be given); the store never closes its client. */
  db?: Db;
  /** Database name with `url` or `client` (default `agent_sessions`); letters, digits and `_`. */
  database?: string;
  /** First part of both collection names (default `agent_`); letters, digits and `_`. */
  collectionPrefix?: string;
}

/**
 * Sessions in MongoDB (standalone, replica set, sharded, Atlas) or a MongoDB-compatible server.
 * `store.session(id)` does no I/O; indexes are created once, lazily (or by `ensureIndexes()`).
 */
export class MongoSessionStore extends BaseSessionStore<MongoSession> {
  readonly database: string;
  readonly collectionPrefix: string;
  readonly #ns: Namespace;
  readonly #client: MongoClient | undefined;
  readonly #ownsClient: boolean;

  constructor(options: MongoSessionStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new SessionValidationError('MongoSessionStore options must be an object: { url }, { client } or { db }');
    }
    super(options);
    const given = ['url', 'client', 'db'].filter((key) => options[key as keyof typeof options] !== undefined);
    if (given.length !== 1) {
      throw new SessionValidationError(
        `MongoSessionStore needs exactly one of url, client or db (got ${given.length})`,
      );
    }
    if (options.clientOptions !== undefined && options.url === undefined) {
      throw new SessionValidationError('clientOptions only applies with url');
    }
    let client = options.client;
    if (options.url !== undefined) {
      if (typeof options.url !== 'string' || options.url.length === 0) {
        throw new SessionValidationError('url must be a non-empty string');
      }
      if (options.clientOptions !== null && options.clientOptions !== undefined) {
        if (typeof options.clientOptions !== 'object') {
          throw new SessionValidationError('clientOptions must be an object of MongoClient options');
        }
      }
      try {
        client = new MongoClient(options.url, options.clientOptions);
      } catch (error) {
        throw new SessionValidationError(
          `Cannot create a MongoClient from url ${redactUrl(options.url)}: ${(error as Error).message}`,
        );
      }
    }
    this.#ns = resolveNamespace({ ...options, client }, 'MongoSessionStore');
    this.#client = client ?? (options.db as (Db & { client?: MongoClient }) | undefined)?.client;
    this.#ownsClient = options.url !== undefined;
    this.database = this.#ns.database;
    this.collectionPrefix = this.#ns.collectionPrefix;
  }

  /** The client sessions use (the store's own or yours), when known. */
  get client(): MongoClient | undefined {
    return this.#client;
  }

  /** The database holding `<prefix>history` and `<prefix>history_parts`. */
  get db(): Db {
    return this.#ns.db;
  }

  /**
   * Creates the indexes now, checking with the server even if this process already did
   * (idempotent, safe from several processes at once). Sessions also do it lazily on first use,
   * once per client, database and prefix.
   */
  async ensureIndexes(): Promise<void> {
    this.assertOpen();
    try {
      await ensureIndexes(this.#ns, true);
    } catch (error) {
      throw toMongoSessionError('ensureIndexes', error);
    }
  }

  protected createSession(sessionId: string): MongoSession {
    return new MongoSession({
      sessionId,
      db: this.#ns.db,
      collectionPrefix: this.collectionPrefix,
      ttlSeconds: this.ttlSeconds,
      isClosed: this.isClosed,
    });
  }

  protected override async releaseResources(): Promise<void> {
    if (this.#ownsClient) await this.#client?.close();
  }
}
