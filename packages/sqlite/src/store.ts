import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Client, createClient } from '@libsql/client';
import {
  BaseSessionStore,
  type BaseSessionStoreOptions,
  redactUrl,
  SessionClosedError,
  SessionError,
  SessionValidationError,
} from '@sessions/core';
import { markOwned, retryBusy } from './retry.js';
import { enableWalFor, ensureSchema, type SchemaNames, schemaNames } from './schema.js';
import { SqliteSession, toSessionError } from './session.js';

/** Busy timeout of the file clients the store opens itself, unless `busyTimeoutMs` says otherwise. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export interface SqliteSessionStoreOptions extends BaseSessionStoreOptions {
  /**
   * Where the database is: `file:conversations.db` (a local file, created on first use; a
   * relative path is resolved against the working directory when the store is built),
   * `:memory:`, or a libSQL server (`libsql://…`, `https://…`, `http://…`, `ws://…`).
   * The store opens the client on first use and closes it in `close()`.
   */
  url?: string;
  /** Token for a remote libSQL server (Turso). Only with `url`. */
  authToken?: string;
  /**
   * For a local file opened from `url`: how long SQLite waits for another connection's lock
   * before reporting SQLITE_BUSY (which the store then retries). Default 5000 ms.
   */
  busyTimeoutMs?: number;
  /** Your own client instead of `url`. The store never closes it. */
  client?: Client;
  /** Prefix of the table names (letters, digits, `_`; default `agents_`). */
  tablePrefix?: string;
}

const REMOTE = /^(libsql|https?|wss?):/i;

/**
 * Sessions in SQLite / libSQL. `new SqliteSessionStore({ url: 'file:conversations.db' })`
 * needs no server; the same code runs against a remote libSQL server. No I/O happens until
 * the first operation: the client is opened and the tables are created then (once, safely
 * from any number of processes), or explicitly with {@link migrate}.
 */
export class SqliteSessionStore extends BaseSessionStore<SqliteSession> {
  readonly #names: SchemaNames;
  readonly #open: (() => Client) | undefined;
  #client: Client | undefined;

  constructor(options: SqliteSessionStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new SessionValidationError('SqliteSessionStore options must be an object');
    }
    super(options);
    this.#names = schemaNames(options.tablePrefix);
    const { url, client, authToken, busyTimeoutMs } = options;
    if (client !== undefined) {
      if (url !== undefined || authToken !== undefined || busyTimeoutMs !== undefined) {
        throw new SessionValidationError('pass either client, or url (with authToken / busyTimeoutMs), not both');
      }
      if (typeof client !== 'object' || client === null || typeof client.batch !== 'function') {
        throw new SessionValidationError('client must be a @libsql/client Client');
      }
      this.#client = client;
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
    const inMemory = url === ':memory:' || /^file::memory:/i.test(url);
    const isFile = !inMemory && /^file:/i.test(url);
    if (!inMemory && !isFile && !REMOTE.test(url)) {
      throw new SessionValidationError(
        `url must start with file:, libsql:, http(s): or ws(s): (or be ':memory:'), got ${JSON.stringify(redactUrl(url))}`,
      );
    }
    const target = isFile ? absoluteFileUrl(url) : url;
    this.#open = () => {
      const opened = createClient({
        url: target,
        ...(authToken === undefined ? {} : { authToken }),
        ...(isFile ? { timeout: busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS } : {}),
      });
      // Ours to reconnect after SQLITE_BUSY (see retry.ts) and to close; a caller's never is.
      markOwned(opened);
      if (isFile) enableWalFor(opened);
      return opened;
    };
  }

  /** The client, opened on first use when the store was built from a `url`. */
  #getClient = (): Client => {
    this.assertOpen();
    if (!this.#client) this.#client = this.#open!();
    return this.#client;
  };

  protected createSession(sessionId: string): SqliteSession {
    return new SqliteSession({
      sessionId,
      client: this.#getClient,
      tablePrefix: this.#names.prefix,
      ttlSeconds: this.ttlSeconds,
      isClosed: this.isClosed,
    });
  }

  /**
   * Creates the tables, index and trigger if missing and checks the schema version, once per
   * client and prefix (later calls return the same promise). Every operation does this lazily;
   * call it at start-up to fail fast.
   */
  async migrate(): Promise<void> {
    await this.#run('migrate', (client) => ensureSchema(client, this.#names));
  }

  /**
   * Physically deletes every expired session (items and operation ids included) and returns how
   * many sessions went. Expired sessions already read as empty and writes remove a few on the
   * way, so this is only needed to reclaim space in bulk (e.g. from a periodic job).
   */
  async deleteExpired(): Promise<number> {
    return this.#run('deleteExpired', async (client) => {
      await ensureSchema(client, this.#names);
      // A write batch rather than a bare statement, for the reason given in SqliteSession.clearItems.
      const [result] = await retryBusy(client, () =>
        client.batch(
          [{ sql: `DELETE FROM ${this.#names.sessions} WHERE expires_at <= ?`, args: [Date.now()] }],
          'write',
        ),
      );
      return result!.rowsAffected;
    });
  }

  async #run<T>(operation: string, work: (client: Client) => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await work(this.#getClient());
    } catch (error) {
      if (error instanceof SessionError) throw error;
      if (this.closed) throw new SessionClosedError();
      throw toSessionError(operation, error);
    }
  }

  protected override async releaseResources(): Promise<void> {
    if (this.#open && this.#client) this.#client.close();
  }
}

/**
 * `file:relative.db` → `file:///cwd/relative.db`, fixed when the store is built, so that the
 * lazily opened client (and any reopening after SQLITE_BUSY) reaches the same file whatever
 * the working directory is by then. Absolute URLs and URLs with a query are left alone.
 */
function absoluteFileUrl(url: string): string {
  const rest = url.slice('file:'.length);
  if (rest.startsWith('/') || /[?#]/.test(rest)) return url;
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    return url;
  }
  return pathToFileURL(resolve(path)).href;
}
