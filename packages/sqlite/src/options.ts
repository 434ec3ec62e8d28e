import type { Client } from '@libsql/client';
import type { BaseSessionOptions, BaseSessionStoreOptions } from '@sessions/core';

/** What names one set of sessions: shared by the store and a standalone session. */
export interface SqliteNamespaceOptions {
  /** Expire a session this many seconds after its last write (sliding). Default: never. */
  ttlSeconds?: number;
  /** Prefix of the table names (letters, digits, `_`; default `agents_`). */
  tablePrefix?: string;
}

/**
 * Besides these, core's `timeoutMs` (deadline of every operation, default 10,000 ms: lock waits,
 * HTTP requests and stalled WebSocket connections end there too) and `createIfMissing` (default
 * true; false: never create the file or the tables, reads of what is missing are empty, writes
 * fail).
 */
export interface SqliteSessionStoreOptions extends BaseSessionStoreOptions, SqliteNamespaceOptions {
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
   * For a local file opened from `url`: SQLite's own busy timeout, how long one statement waits
   * inside SQLite for another connection's lock before reporting SQLITE_BUSY. Default 0: SQLite
   * does not wait, and the store waits instead, asynchronously (retrying with back-off until
   * `timeoutMs`), so the event loop stays free. A local call is synchronous, so a value above 0
   * blocks the whole event loop for up to that long (capped at `timeoutMs`) each time a lock is
   * held elsewhere: only for scripts with nothing else to do.
   */
  busyTimeoutMs?: number;
  /** Your own client instead of `url`. The store never closes or reconnects it. */
  client?: Client;
}

export interface SqliteSessionOptions extends BaseSessionOptions, SqliteNamespaceOptions {
  /**
   * As the store's option (a store passes its own): `false` = never create the tables; reads of
   * missing tables are empty, writes fail. Default true.
   */
  createIfMissing?: boolean;
  /**
   * A `@libsql/client` `Client` (`createClient({ url })`), or a function returning one, called
   * on first use. The session never closes it.
   */
  client: Client | (() => Client);
}

/**
 * SQLite's busy timeout on the file clients the store opens itself, unless `busyTimeoutMs` says
 * otherwise: 0, so that no local call ever waits for a lock inside SQLite (blocking the event
 * loop); engine/busy-retry.ts waits instead.
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 0;

// The options guard's lists. Core's base classes add their own keys (`ttlSeconds`; for a session
// also `sessionId` and `isClosed`), so these hold the rest: listing a key twice would print it
// twice in the guard's "known options" message.
const NAMESPACE_OPTION_KEYS = ['tablePrefix'] as const;

/** Every key `SqliteSessionStore` accepts besides core's `ttlSeconds`, `timeoutMs` and `createIfMissing`. */
export const STORE_OPTION_KEYS: readonly string[] = [
  'url',
  'authToken',
  'busyTimeoutMs',
  'client',
  ...NAMESPACE_OPTION_KEYS,
];

/** Every key `SqliteSession` accepts besides core's `sessionId`, `ttlSeconds`, `timeoutMs` and `isClosed`. */
export const SESSION_OPTION_KEYS: readonly string[] = ['client', ...NAMESPACE_OPTION_KEYS, 'createIfMissing'];
