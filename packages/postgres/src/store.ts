import {
  BaseSessionStore,
  type BaseSessionStoreOptions,
  DEFAULT_OPERATION_RETENTION_SECONDS,
  SessionClosedError,
  SessionError,
  SessionValidationError,
} from '@sessions/core';
import postgres from 'postgres';
import { type PostgresClient, toSessionError } from './client.js';
import { ensureSchema, migrateNow } from './schema.js';
import { checkTtl, type PostgresNamespaceOptions, PostgresSession, resolveClient, resolvePrepare } from './session.js';
import { queriesFor, SCHEMA_VERSION, schemaStatements, type Tables, tablesFor, textArrayLiteral } from './sql.js';

export interface PostgresSessionStoreOptions extends BaseSessionStoreOptions, PostgresNamespaceOptions {
  /**
   * Connection URL (`postgres://user:pass@host:5432/db`). The store creates a client from it
   * (with `clientOptions`) and ends that client on `close()`.
   */
  url?: string;
  /**
   * Options for the client the store creates (`max`, `ssl`, `idle_timeout`, ...), passed to
   * `postgres(url, clientOptions)`. With neither `url` nor `client`, the driver's defaults and
   * `PG*` environment variables apply. `prepare` is taken from the store option.
   */
  clientOptions?: postgres.Options<{}>;
  /** Your own `postgres` client. The store uses it and never ends it. */
  client?: PostgresClient;
  /** Alias of `client`. */
  sql?: PostgresClient;
}

/**
 * Sessions in PostgreSQL through the `postgres` driver. Built from a URL (the store owns the
 * client it creates and ends it on `close()`) or from your client (never ended by the store).
 * `session(id)` does no I/O; the tables are created on first use, or explicitly by `migrate()`.
 */
export class PostgresSessionStore extends BaseSessionStore<PostgresSession> {
  /** The client the sessions use. */
  readonly client: PostgresClient;
  readonly schema: string;
  readonly tablePrefix: string;
  readonly prepare: boolean;
  readonly #owned: boolean;
  readonly #tables: Tables;

  constructor(options: PostgresSessionStoreOptions = {}) {
    super(options);
    if (options === null || typeof options !== 'object') {
      throw new SessionValidationError('PostgresSessionStore options must be an object');
    }
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
      this.client = given;
      this.#owned = false;
    } else {
      const clientOptions: postgres.Options<{}> = {
        onnotice: () => {},
        ...options.clientOptions,
        prepare: this.prepare,
      };
      // The driver connects lazily: no I/O here.
      try {
        this.client = options.url === undefined ? postgres(clientOptions) : postgres(options.url, clientOptions);
      } catch (error) {
        // The driver's message never contains the URL; SessionError masks secrets anyway.
        throw new SessionValidationError(
          `url is not a valid PostgreSQL connection string: ${(error as Error).message}`,
        );
      }
      this.#owned = true;
    }
  }

  protected createSession(sessionId: string): PostgresSession {
    return new PostgresSession({
      sessionId,
      client: this.client,
      schema: this.schema,
      tablePrefix: this.tablePrefix,
      prepare: this.prepare,
      ttlSeconds: this.ttlSeconds,
      isClosed: this.isClosed,
    });
  }

  protected override async releaseResources(): Promise<void> {
    if (this.#owned) await this.client.end({ timeout: 5 });
  }

  /**
   * Creates or upgrades the tables now (sessions also do it on first use, once per client).
   * Safe when several processes call it at once: it runs in one transaction under an advisory
   * lock on the namespace.
   */
  async migrate(): Promise<void> {
    await this.#run('migrate', () => migrateNow(this.client, this.#tables));
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
    return this.#run('deleteExpired', async () => {
      await ensureSchema(this.client, this.#tables);
      const queries = queriesFor(this.#tables);
      const p = { prepare: this.prepare };
      let sessions = 0;
      for (;;) {
        const deleted = await this.client.begin(async (tx) => {
          const ids = await tx.unsafe<{ id: string }[]>(queries.lockExpired, [batchSize], p);
          if (ids.length === 0) return 0;
          const rows = await tx.unsafe(queries.deleteSessions, [textArrayLiteral(ids.map((row) => row.id))], p);
          return rows.count;
        });
        sessions += deleted;
        if (deleted < batchSize) break;
        this.assertOpen();
      }
      for (;;) {
        const rows = await this.client.unsafe(
          queries.deleteOldOperations,
          [DEFAULT_OPERATION_RETENTION_SECONDS, batchSize],
          p,
        );
        if (rows.count < batchSize) break;
        this.assertOpen();
      }
      return sessions;
    });
  }

  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await work();
    } catch (error) {
      if (error instanceof SessionError) throw error;
      if (this.closed) throw new SessionClosedError();
      throw toSessionError(operation, error);
    }
  }

  /** The DDL `migrate()` runs, for teams that manage schema themselves. */
  static schemaSql(options: { schema?: string; tablePrefix?: string } = {}): string {
    const t = tablesFor(options.schema, options.tablePrefix);
    const statements = [
      `CREATE SCHEMA IF NOT EXISTS ${t.qschema}`,
      ...schemaStatements(t),
      `INSERT INTO ${t.version} (id, version) VALUES (1, ${SCHEMA_VERSION}) ON CONFLICT (id) DO UPDATE SET version = excluded.version, updated_at = now()`,
    ];
    return `${statements.join(';\n\n')};\n`;
  }
}
