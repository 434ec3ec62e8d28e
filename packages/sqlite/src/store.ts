// Bundled for an edge runtime or a browser (`workerd`, `edge-light`, `browser`, `netlify` export
// conditions), this is @libsql/client's Web entry: HTTP and WebSocket only, no native module.
import { type Client, createClient } from '@libsql/client';
import {
  BaseSessionStore,
  type CatalogPosition,
  type CatalogQuery,
  ClientHandle,
  redactUrl,
  registerSecret,
  registerUrlSecrets,
  type SessionError,
  type SessionInfo,
  SessionValidationError,
} from '@sessions/core';
import { deadlineIn, markOwned, retryBusy } from './engine/busy-retry.js';
import { listStatements, pageOf, removeStatements, sessionInfoOf, sessionInfoStatement } from './engine/catalog.js';
import { absoluteFileUrl, fileExists, filePathOf } from './engine/file-url.js';
import { fetchWithTimeout, watchRemote } from './engine/remote.js';
import { type SchemaNames, schemaNames } from './engine/schema.js';
import { deleteExpiredStatement } from './engine/statements.js';
import { toSqliteSessionError } from './errors.js';
import { DEFAULT_BUSY_TIMEOUT_MS, type SqliteSessionStoreOptions, STORE_OPTION_KEYS } from './options.js';
import { SqliteSession } from './session.js';
import { enableWalFor, ensureSchema, SchemaMissing } from './setup.js';
import { sqliteUrlKind } from './url.js';

/**
 * Sessions in SQLite / libSQL. `new SqliteSessionStore({ url: 'file:conversations.db' })`
 * needs no server; the same code runs against a remote libSQL server. No I/O happens until
 * the first operation: the client is opened and the tables are created then (once, safely
 * from any number of processes), or explicitly with {@link setup}.
 */
export class SqliteSessionStore extends BaseSessionStore<SqliteSession> {
  readonly #names: SchemaNames;
  readonly #handle: ClientHandle<Client>;
  /** The `url` as given, for `describe()` (masked there); undefined for a caller's client. */
  readonly #url: string | undefined;

  constructor(options: SqliteSessionStoreOptions) {
    super(options, STORE_OPTION_KEYS);
    const { url, client, authToken, busyTimeoutMs } = options;
    registerSecret(authToken);
    registerUrlSecrets(url);
    this.#names = schemaNames(options.tablePrefix);
    if (client !== undefined) {
      if (url !== undefined || authToken !== undefined || busyTimeoutMs !== undefined) {
        throw new SessionValidationError('pass either client, or url (with authToken / busyTimeoutMs), not both');
      }
      if (typeof client !== 'object' || client === null || typeof client.batch !== 'function') {
        throw new SessionValidationError('client must be a @libsql/client Client');
      }
      this.#url = undefined;
      this.#handle = this.adopt(ClientHandle.borrowed(client));
      return;
    }
    if (typeof url !== 'string' || url.length === 0) {
      throw new SessionValidationError("SqliteSessionStore needs a url (e.g. 'file:conversations.db') or a client");
    }
    if (authToken !== undefined && typeof authToken !== 'string') {
      throw new SessionValidationError('authToken must be a string');
    }
    if (
      busyTimeoutMs !== undefined &&
      (typeof busyTimeoutMs !== 'number' || !Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0)
    ) {
      throw new SessionValidationError(`busyTimeoutMs must be a non-negative integer, got ${String(busyTimeoutMs)}`);
    }
    const kind = sqliteUrlKind(url);
    if (kind === undefined) {
      throw new SessionValidationError(
        `url must start with file:, libsql:, http(s): or ws(s): (or be ':memory:'), got ${JSON.stringify(redactUrl(url))}`,
      );
    }
    const isFile = kind === 'file';
    const target = isFile ? absoluteFileUrl(url) : url;
    // createIfMissing: false must not create the file, which opening it would do.
    const mustExist = isFile && !this.createIfMissing ? filePathOf(target) : undefined;
    this.#url = url;
    this.#handle = this.adopt(
      ClientHandle.owned(
        () => {
          // Thrown before opening, so nothing is kept: the next call looks again.
          if (mustExist !== undefined && !fileExists(mustExist)) {
            throw new SchemaMissing(this.#names, 'the database file does not exist');
          }
          const opened = createClient({
            url: target,
            ...(authToken === undefined ? {} : { authToken }),
            // SQLite waits for no lock inside a (synchronous) local call; busy-retry.ts waits instead.
            ...(isFile ? { timeout: Math.min(busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, this.timeoutMs) } : {}),
            // Every HTTP request ends at the deadline (WebSocket: engine/remote.ts, watchRemote).
            ...(kind === 'remote' ? { fetch: fetchWithTimeout(this.timeoutMs) } : {}),
          });
          // Ours to reconnect after SQLITE_BUSY (see engine/busy-retry.ts); a caller's never is.
          markOwned(opened);
          if (isFile) enableWalFor(opened);
          return opened;
        },
        (opened) => opened.close(),
      ),
    );
  }

  /** The client, opened on first use when the store was built from a `url`; never after close(). */
  #client = (): Client => {
    this.assertOpen();
    return this.#handle.client;
  };

  protected createSession(sessionId: string): SqliteSession {
    return new SqliteSession({
      ...this.sessionOptions(sessionId),
      client: this.#client,
      tablePrefix: this.#names.prefix,
    });
  }

  /**
   * `setup()` (from core) creates the tables, index and trigger if missing and checks the schema
   * version, once per client and prefix (later calls return the same promise). Every operation
   * does this lazily; call it at start-up to fail fast. With `createIfMissing: false` it creates
   * nothing: it checks that the tables are there (and their version), and fails if not.
   */
  protected override async runSetup(): Promise<void> {
    const client = this.#client();
    await watchRemote(client, this.timeoutMs, ensureSchema(client, this.#names, this.createIfMissing, this.timeoutMs));
  }

  /** The earlier name of {@link setup}, kept as an alias: the same call, errors name `setup`. */
  migrate(): Promise<void> {
    return this.setup();
  }

  /**
   * Physically deletes every expired session (items and operation ids included) and returns how
   * many sessions went. Expired sessions already read as empty and writes remove a few on the
   * way, so this is only needed to reclaim space in bulk (e.g. from a periodic job).
   */
  async deleteExpired(): Promise<number> {
    this.assertOpen();
    return this.run('deleteExpired', () =>
      // A write batch rather than a bare statement, for the reason given in SqliteSession.clearItems.
      // createIfMissing: false and nothing there: nothing has expired either.
      this.#withTables(async (client) => {
        const [result] = await client.batch([deleteExpiredStatement(this.#names, Date.now())], 'write');
        return result!.rowsAffected;
      }, 0),
    );
  }

  /** One page of the catalog: one read batch (see engine/catalog.ts for its cost). */
  protected async listCatalog(query: CatalogQuery): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
    return this.#withTables(
      async (client) => pageOf(await client.batch(listStatements(this.#names, query, Date.now()), 'read'), query.limit),
      { sessions: [] },
    );
  }

  protected async readSessionInfo(sessionId: string): Promise<SessionInfo | undefined> {
    return this.#withTables(async (client) => {
      const row = (await client.execute(sessionInfoStatement(this.#names, sessionId, Date.now()))).rows[0];
      return row && sessionInfoOf(row);
    }, undefined);
  }

  protected async removeSession(sessionId: string): Promise<void> {
    await this.#withTables((client) => client.batch(removeStatements(this.#names, sessionId), 'write'), undefined);
  }

  /**
   * Runs `work` once the tables are there (created on first use, or checked with
   * `createIfMissing: false`: then `whenMissing` is the answer), retrying lock conflicts until
   * the deadline; remote calls end at `timeoutMs` too.
   */
  async #withTables<T>(work: (client: Client) => Promise<T>, whenMissing: T): Promise<T> {
    const deadline = deadlineIn(this.timeoutMs);
    let client: Client;
    try {
      client = this.#client();
    } catch (error) {
      if (error instanceof SchemaMissing) return whenMissing;
      throw error;
    }
    return watchRemote(
      client,
      this.timeoutMs,
      (async () => {
        try {
          await ensureSchema(client, this.#names, this.createIfMissing, this.timeoutMs);
        } catch (error) {
          if (error instanceof SchemaMissing) return whenMissing;
          throw error;
        }
        return retryBusy(client, () => work(client), deadline);
      })(),
    );
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toSqliteSessionError(operation, error);
  }

  /** What `console.log(store)` shows: the URL with its credentials masked, never a token or client. */
  protected override describe(): Record<string, unknown> {
    return {
      ...(this.#url === undefined ? {} : { url: redactUrl(this.#url) }),
      tablePrefix: this.#names.prefix,
      ownsClient: this.#handle.owned,
    };
  }
}
