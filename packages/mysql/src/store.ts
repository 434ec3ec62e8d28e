import {
  BaseSessionStore,
  type CatalogPosition,
  type CatalogQuery,
  ClientHandle,
  registerSecret,
  registerUrlSecrets,
  type SessionError,
  type SessionInfo,
  SessionValidationError,
} from '@sessions/core';
import mysql, { type PoolOptions } from 'mysql2/promise';
import { catalogStatements, type InfoRow, listStatement, rowLimitOf, toPage, toSessionInfo } from './engine/catalog.js';
import { transaction, withConnection } from './engine/connection.js';
import { schemaScript } from './engine/ddl.js';
import { deleteExpiredRows } from './engine/expired.js';
import { type Tables, tablesFor } from './engine/identifiers.js';
import { statementsFor } from './engine/statements.js';
import { isMissingTable, toMySQLSessionError } from './errors.js';
import {
  checkTtl,
  type MySQLClient,
  type MySQLSessionStoreOptions,
  resolveClient,
  STORE_OPTION_KEYS,
} from './options.js';
import { MySQLSession } from './session.js';
import { ensureSchema, setup, TablesMissingError } from './setup.js';

/**
 * Sessions in MySQL 8 or MariaDB 10.6+ through a `mysql2` pool. Built from a URL (the store owns
 * the pool it creates and ends it on `close()`) or from your pool (never ended by the store).
 * `session(id)` does no I/O; the tables are created on first use, or explicitly by `setup()` (only
 * by `setup()` with `createIfMissing: false`). `timeoutMs` bounds every operation: core's
 * deadline, each statement's client-side timeout (a connection that timed out is destroyed, never
 * reused) and the `connectTimeout` of a pool the store creates.
 */
export class MySQLSessionStore extends BaseSessionStore<MySQLSession> {
  readonly tablePrefix: string;
  // Private, and printed by nobody: the driver keeps the password in clear in the pool's config.
  readonly #handle: ClientHandle<MySQLClient>;
  readonly #tables: Tables;

  constructor(options: MySQLSessionStoreOptions = {}) {
    super(options, STORE_OPTION_KEYS);
    registerUrlSecrets(options.url);
    registerSecret(options.clientOptions?.password);
    this.#tables = tablesFor(options.tablePrefix);
    this.tablePrefix = this.#tables.prefix;
    const given = resolveClient(options);
    if (given && (options.url !== undefined || options.clientOptions !== undefined)) {
      throw new SessionValidationError('Pass either `client` (or `pool`) or `url`/`clientOptions`, not both');
    }
    if (options.url !== undefined && (typeof options.url !== 'string' || options.url === '')) {
      throw new SessionValidationError('url must be a non-empty connection string');
    }
    checkTtl(this.ttlSeconds);
    if (given) {
      this.#handle = this.adopt(ClientHandle.borrowed(given));
      return;
    }
    const poolOptions: PoolOptions = {
      connectTimeout: this.timeoutMs,
      enableKeepAlive: true,
      ...(options.url !== undefined && { uri: options.url }),
      ...withoutUndefined(options.clientOptions),
    };
    let pool: MySQLClient;
    // Built now, so that a malformed URL is refused here; the driver connects on first query.
    try {
      pool = mysql.createPool(poolOptions);
    } catch (error) {
      throw new SessionValidationError(`url is not a valid MySQL connection string: ${(error as Error).message}`);
    }
    this.#handle = this.adopt(
      ClientHandle.owned(
        () => pool,
        (built) => built.end(),
      ),
    );
  }

  /** The pool the sessions use (yours, or the one the store created from `url`). */
  get client(): MySQLClient {
    return this.#handle.client;
  }

  protected createSession(sessionId: string): MySQLSession {
    return new MySQLSession({ ...this.sessionOptions(sessionId), client: this.client, tablePrefix: this.tablePrefix });
  }

  /**
   * Creates the tables now (sessions also do it on first use, once per pool, unless
   * `createIfMissing` is false). Safe when several processes call it at once: `GET_LOCK` on the
   * namespace, `IF NOT EXISTS` everywhere.
   */
  protected override runSetup(): Promise<void> {
    return setup(this.client, this.#tables, this.timeoutMs);
  }

  /**
   * Physically deletes expired sessions (with their items and operation ids) and returns how many
   * went; also drops operation ids older than the 24 h retention. Works in batches of `batchSize`
   * sessions, each one short transaction that skips rows a writer holds (`SKIP LOCKED`). Expired
   * sessions already read as empty, so this only reclaims space: MySQL has no TTL of its own,
   * call it from a scheduler (or an EVENT calling the same statements).
   */
  async deleteExpired(options: { batchSize?: number } = {}): Promise<number> {
    const batchSize = options.batchSize ?? 1000;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
      throw new SessionValidationError('batchSize must be an integer from 1 to 100000');
    }
    this.assertOpen();
    const stopAt = performance.now() + this.timeoutMs;
    return this.run('deleteExpired', () =>
      this.#catalogCall(0, () =>
        deleteExpiredRows(this.client, this.#tables, {
          batchSize,
          timeoutMs: this.timeoutMs,
          assertOpen: () => {
            this.assertOpen();
            if (performance.now() > stopAt) throw new Error('deleteExpired passed its deadline');
          },
        }),
      ),
    );
  }

  /**
   * One page: one statement on the listing index (see `engine/catalog.ts`), whatever the number of
   * sessions; metadata equality is pre-filtered in the database by a substring test and decided
   * here, over at most 2,000 sessions a page.
   */
  protected listCatalog(query: CatalogQuery): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
    return this.#catalogCall({ sessions: [] }, async () => {
      const { sql, params } = listStatement(this.#tables, query);
      const rows = await withConnection(this.client, this.timeoutMs, (run) => run.rows(sql, params));
      return toPage(rows as Parameters<typeof toPage>[0], query, rowLimitOf(query));
    });
  }

  protected readSessionInfo(sessionId: string): Promise<SessionInfo | undefined> {
    return this.#catalogCall(undefined, async () => {
      const [row] = await withConnection(this.client, this.timeoutMs, (run) =>
        run.rows<InfoRow>(catalogStatements(this.#tables).info, [sessionId]),
      );
      return row && toSessionInfo(row);
    });
  }

  /**
   * One transaction at READ COMMITTED: the session row first (its lock waits for a writer in
   * flight), then the items and operation ids. Idempotent.
   */
  protected removeSession(sessionId: string): Promise<void> {
    const sql = statementsFor(this.#tables);
    return this.#catalogCall(undefined, () =>
      transaction(this.client, { timeoutMs: this.timeoutMs, readCommitted: true }, async (run) => {
        await run.write(sql.removeRow, [sessionId]);
        await run.write(sql.deleteItems, [sessionId]);
        await run.write(sql.deleteOperations, [sessionId]);
      }),
    );
  }

  /**
   * A catalog call after the lazy setup. Without `createIfMissing`, missing tables hold no
   * sessions: `empty` (nothing listed, nothing to delete), as reads of items do.
   */
  async #catalogCall<T>(empty: T, body: () => Promise<T>): Promise<T> {
    try {
      await ensureSchema(this.client, this.#tables, this.timeoutMs, this.createIfMissing);
      return await body();
    } catch (error) {
      if (!this.createIfMissing && (error instanceof TablesMissingError || isMissingTable(error))) return empty;
      throw error;
    }
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toMySQLSessionError(operation, error);
  }

  /** What `console.log(store)` shows: the namespace and who owns the pool, never its options. */
  protected override describe(): Record<string, unknown> {
    return { tablePrefix: this.tablePrefix, ownsClient: this.#handle.owned };
  }

  /** The DDL `setup()` runs, for teams that manage their schema themselves. */
  static schemaSql(options: { tablePrefix?: string } = {}): string {
    return schemaScript(tablesFor(options.tablePrefix));
  }
}

/** The caller's options without `undefined` values, which would erase the derived ones. */
function withoutUndefined(options: PoolOptions | undefined): PoolOptions {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options ?? {})) if (value !== undefined) kept[key] = value;
  return kept as PoolOptions;
}
