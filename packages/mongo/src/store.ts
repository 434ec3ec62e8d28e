import {
  BaseSessionStore,
  type CatalogPosition,
  type CatalogQuery,
  ClientHandle,
  isReadOperation,
  redactUrl,
  registerSecret,
  type SessionError,
  type SessionInfo,
  SessionValidationError,
} from '@sessions/core';
import { type Db, MongoClient, type MongoClientOptions } from 'mongodb';
import { assertCallActive, InFlight, runCall } from './engine/call.js';
import { listPage, removeSessionDocuments, sessionInfoOf } from './engine/catalog.js';
import { healBorrowed, OwnedConnection } from './engine/connection.js';
import { isExpired } from './engine/expiry.js';
import { CommitLog } from './engine/log.js';
import { type Namespace, resolveNamespace } from './engine/namespace.js';
import { driverTimeouts } from './engine/timeouts.js';
import { toMongoSessionError } from './errors.js';
import { type MongoSessionStoreOptions, STORE_OPTION_KEYS } from './options.js';
import { MongoSession, STORE_LINK, type StoreLink } from './session.js';
import { ensureIndexes } from './setup.js';
import { registerAuthProperties, registerMongoUrlSecrets } from './url.js';

/**
 * Sessions in MongoDB (standalone, replica set, sharded, Atlas) or a MongoDB-compatible server.
 * `store.session(id)` does no I/O; indexes are created once, lazily (or by `setup()`).
 */
export class MongoSessionStore extends BaseSessionStore<MongoSession> {
  readonly database: string;
  readonly collectionPrefix: string;
  readonly #ns: Namespace;
  readonly #handle: ClientHandle<MongoClient> | undefined;
  readonly #url: string | undefined;
  readonly #link: StoreLink;

  constructor(options: MongoSessionStoreOptions) {
    super(options, STORE_OPTION_KEYS);
    const given = ['url', 'client', 'db'].filter((key) => options[key as keyof typeof options] !== undefined);
    if (given.length !== 1) {
      throw new SessionValidationError(
        `MongoSessionStore needs exactly one of url, client or db (got ${given.length})`,
      );
    }
    if (options.clientOptions !== undefined && options.url === undefined) {
      throw new SessionValidationError('clientOptions only applies with url');
    }
    let handle: ClientHandle<MongoClient> | undefined;
    if (options.url !== undefined) {
      handle = ownClient(options.url, options.clientOptions, this.timeoutMs);
      this.#url = options.url;
    } else if (options.client !== undefined) {
      handle = ClientHandle.borrowed(options.client);
    } else {
      const client = (options.db as (Db & { client?: MongoClient }) | undefined)?.client;
      if (client) handle = ClientHandle.borrowed(client);
    }
    this.#ns = resolveNamespace(
      options.db === undefined ? { ...options, client: handle?.client } : options,
      'MongoSessionStore',
    );
    this.#handle = handle && this.adopt(handle);
    const owned = this.#handle?.owned ? new OwnedConnection(this.#handle.client, this.isClosed) : undefined;
    const client = this.#handle?.client;
    this.#link = { inFlight: new InFlight(), ready: owned ? () => owned.ready() : () => healBorrowed(client) };
    this.database = this.#ns.database;
    this.collectionPrefix = this.#ns.collectionPrefix;
  }

  /** The client sessions use (the store's own or yours), when known. */
  get client(): MongoClient | undefined {
    return this.#handle?.client;
  }

  /** The database holding `<prefix>history` and `<prefix>history_parts`. */
  get db(): Db {
    return this.#ns.db;
  }

  /**
   * The old name of `setup()`, kept as an alias: creates the indexes now, checking with the
   * server even if this process already did. Errors report the operation as `setup`.
   */
  ensureIndexes(): Promise<void> {
    return this.setup();
  }

  /**
   * Creates the indexes (idempotent, safe from several processes at once), checking with the
   * server every time it is called, e.g. after the collections were dropped. Sessions also do
   * it lazily on first use, once per client, database and prefix.
   */
  protected override runSetup(): Promise<void> {
    return ensureIndexes(this.#ns, this.timeoutMs, true);
  }

  protected createSession(sessionId: string): MongoSession {
    return new MongoSession({
      ...this.sessionOptions(sessionId),
      db: this.#ns.db,
      collectionPrefix: this.collectionPrefix,
      [STORE_LINK]: this.#link,
    } as ConstructorParameters<typeof MongoSession>[0]);
  }

  /**
   * A page of the listing: two queries whatever the number of sessions (engine/catalog.ts).
   * The indexes (and the one-time backfill of sessions written by the previous release) are
   * made first, as a session's first write would.
   */
  protected async listCatalog(query: CatalogQuery): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
    if (this.createIfMissing) await ensureIndexes(this.#ns, this.timeoutMs);
    return listPage(this.#ns, query, (head) => this.#log(head.sessionId).catalogOf(head));
  }

  /** From the head commit alone: exact, with no listing involved. */
  protected async readSessionInfo(sessionId: string): Promise<SessionInfo | undefined> {
    const log = this.#log(sessionId);
    const head = await log.readHead(false);
    if (!head || isExpired(head, Date.now())) return undefined;
    return sessionInfoOf(sessionId, head, await log.catalogOf(head));
  }

  protected async removeSession(sessionId: string): Promise<void> {
    await removeSessionDocuments(this.#ns, sessionId);
  }

  /** Reads of one session's commits on behalf of the store (nothing written but catalog upgrades). */
  #log(sessionId: string): CommitLog {
    return new CommitLog(this.#ns, sessionId, assertCallActive, async () => {});
  }

  /** Store-level calls (`setup`) run like a session's: connected first, with a signal, tracked. */
  protected override run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    return runCall(
      (tracked) => super.run(operation, tracked),
      async () => {
        await this.#link.ready();
        return body();
      },
      this.#link.inFlight,
    );
  }

  /**
   * `close()` refuses new calls at once, then waits for the calls already running (each ends by
   * its deadline, so at most `timeoutMs`) before it closes the store's own client: a write in
   * flight is not cut, and is not reported as failed after it was stored.
   */
  protected override async releaseResources(): Promise<void> {
    await this.#link.inFlight.settled(this.timeoutMs);
    await super.releaseResources();
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toMongoSessionError(operation, error, { timeoutMs: this.timeoutMs, write: !isReadOperation(operation) });
  }

  protected override describe(): Record<string, unknown> {
    return {
      ...(this.#url === undefined ? {} : { url: redactUrl(this.#url) }),
      database: this.database,
      collectionPrefix: this.collectionPrefix,
      ownsClient: this.#handle?.owned ?? false,
    };
  }
}

/**
 * The store's own client, built now so that a malformed URL is a `SessionValidationError` at
 * once (`MongoClient` parses it without connecting). Its credentials are registered first,
 * so that neither that error nor any later one can show them. Its timeouts follow `timeoutMs`
 * unless the URL or `clientOptions` set them (engine/timeouts.ts).
 */
function ownClient(
  url: string,
  clientOptions: MongoClientOptions | undefined,
  timeoutMs: number,
): ClientHandle<MongoClient> {
  if (typeof url !== 'string' || url.length === 0) {
    throw new SessionValidationError('url must be a non-empty string');
  }
  if (clientOptions !== null && clientOptions !== undefined && typeof clientOptions !== 'object') {
    throw new SessionValidationError('clientOptions must be an object of MongoClient options');
  }
  registerMongoUrlSecrets(url);
  registerSecret(clientOptions?.auth?.password);
  registerAuthProperties(clientOptions?.authMechanismProperties);
  const options = { ...driverTimeouts(timeoutMs, url, clientOptions ?? undefined), ...clientOptions };
  const handle = ClientHandle.owned(
    () => new MongoClient(url, options),
    (client) => client.close(),
  );
  try {
    void handle.client;
  } catch (error) {
    throw new SessionValidationError(
      `Cannot create a MongoClient from url ${redactUrl(url)}: ${(error as Error).message}`,
    );
  }
  return handle;
}
