import type { Client } from '@libsql/client';
import type { BaseSessionOptions } from '@sessions/core';

/** What names one set of sessions: shared by the store and a standalone session. */
export interface SqliteNamespaceOptions {
  /** Expire a session this many seconds after its last write (sliding). Default: never. */
  ttlSeconds?: number;
  /** Prefix of the table names (letters, digits, `_`; default `agents_`). */
  tablePrefix?: string;
}

export interface SqliteSessionStoreOptions extends SqliteNamespaceOptions {
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
  /** Your own client instead of `url`. The store never closes or reconnects it. */
  client?: Client;
}

export interface SqliteSessionOptions extends BaseSessionOptions, SqliteNamespaceOptions {
  /**
   * A `@libsql/client` `Client` (`createClient({ url })`), or a function returning one, called
   * on first use. The session never closes it.
   */
  client: Client | (() => Client);
}

/** Busy timeout of the file clients the store opens itself, unless `busyTimeoutMs` says otherwise. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

// The options guard's lists. Core's base classes add their own keys (`ttlSeconds`; for a session
// also `sessionId` and `isClosed`), so these hold the rest: listing a key twice would print it
// twice in the guard's "known options" message.
const NAMESPACE_OPTION_KEYS = ['tablePrefix'] as const;

/** Every key `SqliteSessionStore` accepts besides core's `ttlSeconds`. */
export const STORE_OPTION_KEYS: readonly string[] = [
  'url',
  'authToken',
  'busyTimeoutMs',
  'client',
  ...NAMESPACE_OPTION_KEYS,
];

/** Every key `SqliteSession` accepts besides core's `sessionId`, `ttlSeconds` and `isClosed`. */
export const SESSION_OPTION_KEYS: readonly string[] = ['client', ...NAMESPACE_OPTION_KEYS];
