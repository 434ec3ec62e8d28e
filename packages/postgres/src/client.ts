import {
  isConnectionError,
  SessionClosedError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
} from '@sessions/core';
import type postgres from 'postgres';

/** A `postgres` client (the `sql` function returned by `postgres(url, options)`), any type map. */
// biome-ignore lint/suspicious/noExplicitAny: any client, whatever custom types it was built with
export type PostgresClient = postgres.Sql<any>;

/**
 * SQLSTATEs that mean "the server went away or is not accepting us right now": class 08
 * (connection exception), 57P01..57P05 (admin/crash shutdown, cannot connect now, database
 * dropped, idle session timeout), 53300 (too many connections).
 */
function isServerConnectionState(code: unknown): boolean {
  return typeof code === 'string' && (code.startsWith('08') || /^57P0[1-5]$/.test(code) || code === '53300');
}

/**
 * Maps a `postgres` driver error onto core's hierarchy: an ended client is `SessionClosedError`;
 * lost or refused connections (socket errors, the driver's CONNECTION_* codes and the server's
 * shutdown SQLSTATEs) are `SessionConnectionError`; everything else `SessionStorageError`. The
 * driver error is kept as `cause`.
 */
export function toSessionError(operation: string, error: unknown): SessionError {
  const { code } = (error ?? {}) as { code?: unknown };
  if (code === 'CONNECTION_ENDED') {
    return new SessionClosedError('The PostgreSQL client was ended (sql.end() was called)');
  }
  if (isServerConnectionState(code) || isConnectionError(error)) return new SessionConnectionError(operation, error);
  return new SessionStorageError(operation, error);
}
