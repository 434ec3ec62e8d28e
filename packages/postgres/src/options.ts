import { type BaseSessionOptions, type BaseSessionStoreOptions, SessionValidationError } from '@sessions/core';
import type postgres from 'postgres';

/** A `postgres` client (the `sql` function returned by `postgres(url, options)`), any type map. */
// biome-ignore lint/suspicious/noExplicitAny: any client, whatever custom types it was built with
export type PostgresClient = postgres.Sql<any>;

/** Options shared by `PostgresSession` and `PostgresSessionStore`: where and how the history lives. */
export interface PostgresNamespaceOptions {
  /** Expire a session this many seconds after its last write (sliding). At most 100 years. */
  ttlSeconds?: number;
  /** PostgreSQL schema of the tables (default `public`). Letters, digits and `_` only. */
  schema?: string;
  /** Prefix of the table names (default `agent_`). Letters, digits and `_` only, ≤ 48 chars. */
  tablePrefix?: string;
  /**
   * `false` runs every statement unprepared (unnamed), as transaction-mode poolers (PgBouncer,
   * Supabase's pooler, Neon's pooled endpoint) require. Default `true`. A client you pass in can
   * also disable preparing itself with `postgres(url, { prepare: false })`, which always wins.
   */
  prepare?: boolean;
}

export interface PostgresSessionStoreOptions extends BaseSessionStoreOptions, PostgresNamespaceOptions {
  /**
   * Connection URL (`postgres://user:pass@host:5432/db`). The store creates a client from it
   * (with `clientOptions`) and ends that client on `close()`.
   */
  url?: string;
  /**
   * Options for the client the store creates (`max`, `ssl`, `idle_timeout`, ...), passed to
   * `postgres(url, clientOptions)`. With neither `url` nor `client`, the driver's defaults and
   * `PG*` environment variables apply. `prepare` is taken from the store option. From
   * `timeoutMs` the store derives `connect_timeout` (whole seconds, rounded up) and a reconnect
   * `backoff` capped at 1 s; yours (here or in the URL) win.
   */
  clientOptions?: postgres.Options<{}>;
  /** Your own `postgres` client. The store uses it and never ends it. */
  client?: PostgresClient;
  /** Alias of `client`. */
  sql?: PostgresClient;
}

export interface PostgresSessionOptions extends BaseSessionOptions, PostgresNamespaceOptions {
  /** Your `postgres` client (`const sql = postgres(url)`). The session never ends it. */
  client?: PostgresClient;
  /** Alias of `client`. */
  sql?: PostgresClient;
  /**
   * `false`: never create the schema or tables; reads of missing tables are empty, writes fail
   * saying `setup()` was not run. Default `true` (created on first use). A store passes its own.
   */
  createIfMissing?: boolean;
}

// `ttlSeconds` is left out: core's guard adds it (and `sessionId`, `isClosed` for sessions), so
// that the refusal message lists every key once.
const NAMESPACE_OPTION_KEYS = ['schema', 'tablePrefix', 'prepare'] as const;

/** The keys `new PostgresSessionStore(options)` accepts besides core's `ttlSeconds`; any other is refused by name. */
export const STORE_OPTION_KEYS: readonly string[] = [
  ...NAMESPACE_OPTION_KEYS,
  'url',
  'clientOptions',
  'client',
  'sql',
] satisfies readonly (keyof PostgresSessionStoreOptions)[];

/** The keys `new PostgresSession(options)` accepts besides core's `sessionId`, `ttlSeconds` and `isClosed`. */
export const SESSION_OPTION_KEYS: readonly string[] = [
  ...NAMESPACE_OPTION_KEYS,
  'client',
  'sql',
  'createIfMissing',
] satisfies readonly (keyof PostgresSessionOptions)[];

/** TTLs above this are refused: `now() + ttl` must stay a valid timestamp. */
const MAX_TTL_SECONDS = 100 * 365 * 24 * 60 * 60;

/** The caller's client from `client` or its alias `sql`, checked to be a `postgres` client. */
export function resolveClient(options: { client?: PostgresClient; sql?: PostgresClient }): PostgresClient | undefined {
  if (options.client !== undefined && options.sql !== undefined && options.client !== options.sql) {
    throw new SessionValidationError('Pass the postgres client as `client` or `sql`, not both');
  }
  const client = options.client ?? options.sql;
  if (client !== undefined && (typeof client !== 'function' || typeof client.unsafe !== 'function')) {
    throw new SessionValidationError('`client` must be a `postgres` client: const sql = postgres(url)');
  }
  return client;
}

export function resolvePrepare(prepare: unknown): boolean {
  if (prepare === undefined) return true;
  if (typeof prepare !== 'boolean') throw new SessionValidationError('prepare must be a boolean');
  return prepare;
}

/** `now() + ttl` must stay a valid timestamp: at most 100 years. */
export function checkTtl(ttlSeconds: number | undefined): void {
  if (ttlSeconds !== undefined && ttlSeconds > MAX_TTL_SECONDS) {
    throw new SessionValidationError(`ttlSeconds must be at most ${MAX_TTL_SECONDS} (100 years)`);
  }
}
