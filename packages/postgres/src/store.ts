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
import postgres from 'postgres';
import { type InfoRow, listStatement, toPage, toSessionInfo } from './engine/catalog.js';
import { schemaScript } from './engine/ddl.js';
import { deleteExpiredRows } from './engine/delete-expired.js';
import { type Tables, tablesFor } from './engine/identifiers.js';
import { type Queries, queriesFor } from './engine/queries.js';
import { boundedClientOptions, transactionBoundsSql } from './engine/timeouts.js';
import { transaction } from './engine/transaction.js';
import { retryIfNeverSent } from './engine/unsent.js';
import { isMissingRelation, toPostgresSessionError } from './errors.js';
import {
  checkTtl,
  type PostgresClient,
  type PostgresSessionStoreOptions,
  resolveClient,
  resolvePrepare,
  STORE_OPTION_KEYS,
} from './options.js';
import { PostgresSession } from './session.js';
import { ensureSchema, setup, TablesMissingError } from './setup.js';

/**
 * Sessions in PostgreSQL through the `postgres` driver. Built from a URL (the store owns the
 * client it creates and ends it on `close()`) or from your client (never ended by the store).
 * `session(id)` does no I/O; the tables are created on first use, or explicitly by `setup()`
 * (only by `setup()` with `createIfMissing: false`). `timeoutMs` bounds every operation: core's
 * deadline, the server-side bounds of every transaction, and `connect_timeout` / `backoff` of a
 * client the store creates (see `engine/timeouts.ts`); a caller's client is never reconfigured.
 */
export class PostgresSessionStore extends BaseSessionStore<PostgresSession> {
  readonly schema: string;
  readonly tablePrefix: string;
  readonly prepare: boolean;
  // Private, and printed by nobody: the driver keeps the password in clear in the client's options.
  readonly #handle: ClientHandle<PostgresClient>;
  readonly #tables: Tables;

  constructor(options: PostgresSessionStoreOptions = {}) {
    super(options, STORE_OPTION_KEYS);
    registerUrlSecrets(options.url);
    registerSecret(options.clientOptions?.password);
    registerSecret(options.clientOptions?.pass);
    this.#tables = tablesFor(options.schema, options.tablePrefix);
    this.schema = this.#tables.schema;
    this.tablePrefix = this.#tables.prefix;
    this.prepare = resolvePrepare(options.prepare);
    const given = resolveClient(options);
    if (given && (options.url !== undefined || options.clientOptions !== undefined)) {
      throw new SessionValidationError('Pass either `client` (or `sql`) or `url`/`clientOptions`, not both');
    }
    if (options.url !== undefined && (typeof options.url !== 'string' || options.url === '')) {
      throw new SessionValidationError('url must be a non-empty connection string');
    }
    checkTtl(this.ttlSeconds);
    if (given) {
      // Masked in errors too, although the store never prints a caller's client.
      registerSecret((given as { options?: { pass?: unknown } }).options?.pass);
      this.#handle = this.adopt(ClientHandle.borrowed(given));
      return;
    }
    const clientOptions: postgres.Options<{}> = {
      onnotice: () => {},
      ...boundedClientOptions(this.timeoutMs, options.url, options.clientOptions),
      prepare: this.prepare,
    };
    let client: PostgresClient;
    // Built now, so that a malformed URL is refused here; the driver connects on first query.
    try {
      client = options.url === undefined ? postgres(clientOptions) : postgres(options.url, clientOptions);
    } catch (error) {
      // The driver's message never contains the URL; SessionError masks secrets anyway.
      throw new SessionValidationError(`url is not a valid PostgreSQL connection string: ${(error as Error).message}`);
    }
    // close() lets queries in flight finish, but no longer than an operation may take (and at
    // most 5 s): the driver also waits here for connections that died mid-query.
    const endTimeout = Math.min(5, Math.ceil(this.timeoutMs / 1000));
    this.#handle = this.adopt(
      ClientHandle.owned(
        () => client,
        (built) => built.end({ timeout: endTimeout }),
      ),
    );
  }

  /** The client the sessions use (yours, or the one the store created from `url`). */
  get client(): PostgresClient {
    return this.#handle.client;
  }

  protected createSession(sessionId: string): PostgresSession {
    return new PostgresSession({
      ...this.sessionOptions(sessionId),
      client: this.client,
      schema: this.schema,
      tablePrefix: this.tablePrefix,
      prepare: this.prepare,
    });
  }

  /**
   * Creates or upgrades the tables now (`setup()`; sessions also do it on first use, once per
   * client, unless `createIfMissing` is false). Safe when several processes call it at once: it
   * runs in one transaction under an advisory lock on the namespace.
   */
  protected override runSetup(): Promise<void> {
    return retryIfNeverSent(() => setup(this.client, this.#tables, this.timeoutMs));
  }

  /** The old name of {@link setup}, kept as an alias: errors report the operation `setup`. */
  migrate(): Promise<void> {
    return this.setup();
  }

  /**
   * Physically deletes expired sessions (with their items and operation ids) and returns how many
   * went; also drops operation ids older than the 24 h retention. Works in batches of
   * `batchSize` sessions, each one short transaction that skips rows a writer holds. Expired
   * sessions already read as empty and a write to one deletes its old rows, so this only
   * reclaims space: PostgreSQL has no TTL of its own, call it from a scheduler (or pg_cron).
   */
  async deleteExpired(options: { batchSize?: number } = {}): Promise<number> {
    const batchSize = options.batchSize ?? 1000;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
      throw new SessionValidationError('batchSize must be an integer from 1 to 100000');
    }
    this.assertOpen();
    // Past the deadline the caller already has its SessionTimeoutError: stop between batches
    // rather than go on unseen (a later call continues where this one stopped).
    const stopAt = performance.now() + this.timeoutMs;
    return this.run('deleteExpired', async () => {
      try {
        await retryIfNeverSent(() => ensureSchema(this.client, this.#tables, this.timeoutMs, this.createIfMissing));
      } catch (error) {
        // createIfMissing: false and no tables: nothing is stored, so nothing expired.
        if (error instanceof TablesMissingError) return 0;
        throw error;
      }
      return deleteExpiredRows(this.client, queriesFor(this.#tables), {
        batchSize,
        prepare: this.prepare,
        bounds: transactionBoundsSql(this.timeoutMs),
        assertOpen: () => {
          this.assertOpen();
          if (performance.now() > stopAt) throw new Error('deleteExpired passed its deadline');
        },
      });
    });
  }

  /**
   * One page: one statement on the listing index (see `engine/catalog.ts`), whatever the number
   * of sessions; metadata equality is decided in the database, over at most 10,000 sessions.
   */
  protected listCatalog(query: CatalogQuery): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
    return this.#catalogRead({ sessions: [] }, async () => {
      const { text, params } = listStatement(this.#tables, query);
      const rows = await this.client.unsafe(text, params, { prepare: this.prepare });
      return toPage(rows as unknown as Parameters<typeof toPage>[0], query.limit);
    });
  }

  protected readSessionInfo(sessionId: string): Promise<SessionInfo | undefined> {
    return this.#catalogRead(undefined, async () => {
      const [row] = await this.client.unsafe<InfoRow[]>(this.#queries.info, [sessionId], { prepare: this.prepare });
      return row && toSessionInfo(row);
    });
  }

  /**
   * One transaction: delete the session row first (its lock waits for a writer in flight), then
   * the items and operation ids, which that statement sees all of. Idempotent.
   */
  protected removeSession(sessionId: string): Promise<void> {
    return this.#catalogRead(undefined, () =>
      transaction(this.client, (tx) => [
        tx.unsafe(transactionBoundsSql(this.timeoutMs), [], { prepare: this.prepare }),
        tx.unsafe(this.#queries.removeRow, [sessionId], { prepare: this.prepare }),
        tx.unsafe(this.#queries.removeRows, [sessionId], { prepare: this.prepare }),
      ]).then(() => undefined),
    );
  }

  get #queries(): Queries {
    return queriesFor(this.#tables);
  }

  /**
   * A catalog call after the lazy setup. Without `createIfMissing`, missing tables hold no
   * sessions: `empty` (nothing listed, nothing to delete), as reads of items do.
   */
  #catalogRead<T>(empty: T, body: () => Promise<T>): Promise<T> {
    return retryIfNeverSent(async () => {
      try {
        await ensureSchema(this.client, this.#tables, this.timeoutMs, this.createIfMissing);
        return await body();
      } catch (error) {
        if (!this.createIfMissing && (error instanceof TablesMissingError || isMissingRelation(error))) return empty;
        throw error;
      }
    });
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toPostgresSessionError(operation, error);
  }

  /** What `console.log(store)` shows: the namespace and who owns the client, never its options. */
  protected override describe(): Record<string, unknown> {
    return {
      schema: this.schema,
      tablePrefix: this.tablePrefix,
      prepare: this.prepare,
      ownsClient: this.#handle.owned,
    };
  }

  /** The DDL `setup()` runs, for teams that manage schema themselves. */
  static schemaSql(options: { schema?: string; tablePrefix?: string } = {}): string {
    return schemaScript(tablesFor(options.schema, options.tablePrefix));
  }
}
