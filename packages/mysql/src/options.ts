import { type BaseSessionOptions, type BaseSessionStoreOptions, SessionValidationError } from '@sessions/core';
import type { Pool, PoolOptions } from 'mysql2/promise';

/** A `mysql2` pool: `mysql.createPool(...)` from `mysql2/promise`, or a callback pool (its `.promise()` is used). */
export type MySQLClient = Pool;

/** Options shared by `MySQLSession` and `MySQLSessionStore`: where and how the history lives. */
export interface MySQLNamespaceOptions {
  /** Expire a session this many seconds after its last write (sliding). At most 100 years. */
  ttlSeconds?: number;
  /**
   * Prefix of the table names (default `agent_`). Letters, digits and `_` only, ≤ 48 chars. The
   * tables live in the connection's database (the URL's path, or the pool's `database`).
   */
  tablePrefix?: string;
}

export interface MySQLSessionStoreOptions extends BaseSessionStoreOptions, MySQLNamespaceOptions {
  /**
   * Connection URL (`mysql://user:pass@host:3306/db`). The store creates a pool from it (with
   * `clientOptions`) and ends that pool on `close()`.
   */
  url?: string;
  /**
   * Options for the pool the store creates (`connectionLimit`, `ssl`, ...), passed to
   * `mysql.createPool({ uri: url, ...clientOptions })`. From `timeoutMs` the store derives
   * `connectTimeout`; yours win. The store never needs `multipleStatements`.
   */
  clientOptions?: PoolOptions;
  /** Your own `mysql2` pool. The store uses it and never ends it. */
  client?: MySQLClient;
  /** Alias of `client`. */
  pool?: MySQLClient;
}

export interface MySQLSessionOptions extends BaseSessionOptions, MySQLNamespaceOptions {
  /** Your `mysql2` pool. The session never ends it. */
  client?: MySQLClient;
  /** Alias of `client`. */
  pool?: MySQLClient;
  /**
   * `false`: never create the tables; reads of missing tables are empty, writes fail saying
   * `setup()` was not run. Default `true` (created on first use). A store passes its own.
   */
  createIfMissing?: boolean;
}

// `ttlSeconds` is left out: core's guard adds it, so that the refusal message lists every key once.
const NAMESPACE_OPTION_KEYS = ['tablePrefix'] as const;

/** The keys `new MySQLSessionStore(options)` accepts besides core's; any other is refused by name. */
export const STORE_OPTION_KEYS: readonly string[] = [
  ...NAMESPACE_OPTION_KEYS,
  'url',
  'clientOptions',
  'client',
  'pool',
] satisfies readonly (keyof MySQLSessionStoreOptions)[];

/** The keys `new MySQLSession(options)` accepts besides core's `sessionId`, `ttlSeconds` and `isClosed`. */
export const SESSION_OPTION_KEYS: readonly string[] = [
  ...NAMESPACE_OPTION_KEYS,
  'client',
  'pool',
  'createIfMissing',
] satisfies readonly (keyof MySQLSessionOptions)[];

/** TTLs above this are refused: expiry instants stay far inside a BIGINT of milliseconds. */
const MAX_TTL_SECONDS = 100 * 365 * 24 * 60 * 60;

/**
 * The caller's pool from `client` or its alias `pool`: a promise pool, or a callback pool whose
 * promise wrapper is taken. Anything else (a single connection, a pool cluster) is refused: the
 * store needs `getConnection()` for its transactions.
 */
export function resolveClient(options: { client?: MySQLClient; pool?: MySQLClient }): MySQLClient | undefined {
  if (options.client !== undefined && options.pool !== undefined && options.client !== options.pool) {
    throw new SessionValidationError('Pass the mysql2 pool as `client` or `pool`, not both');
  }
  const given = (options.client ?? options.pool) as unknown;
  if (given === undefined) return undefined;
  const candidate = given as { getConnection?: unknown; promise?: unknown; execute?: unknown };
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.getConnection !== 'function') {
    throw new SessionValidationError(
      '`client` must be a mysql2 pool: mysql.createPool(url) from mysql2/promise (a single connection will not do)',
    );
  }
  // A callback pool (`mysql2`, not `mysql2/promise`) has a `promise()` that wraps it.
  const isCallbackPool = typeof candidate.promise === 'function' && !('pool' in (candidate as object));
  return (isCallbackPool ? (candidate.promise as () => MySQLClient).call(candidate) : given) as MySQLClient;
}

/** Expiry instants must stay valid: at most 100 years. */
export function checkTtl(ttlSeconds: number | undefined): void {
  if (ttlSeconds !== undefined && ttlSeconds > MAX_TTL_SECONDS) {
    throw new SessionValidationError(`ttlSeconds must be at most ${MAX_TTL_SECONDS} (100 years)`);
  }
}
