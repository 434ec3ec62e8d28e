import {
  isConnectionError,
  SessionClosedError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
} from '@sessions/core';

/**
 * SQLSTATEs that mean "the server went away or is not accepting us right now": class 08
 * (connection exception), 57P01..57P05 (admin/crash shutdown, cannot connect now, database
 * dropped, idle session timeout), 53300 (too many connections).
 */
function isServerConnectionState(code: unknown): boolean {
  return typeof code === 'string' && (code.startsWith('08') || /^57P0[1-5]$/.test(code) || code === '53300');
}

/**
 * The one place that knows the `postgres` driver's error shapes. An ended client is
 * `SessionClosedError`; lost or refused connections (socket errors, the driver's CONNECTION_*
 * codes and the server's shutdown SQLSTATEs) are `SessionConnectionError`; everything else
 * (a `PostgresError`, a schema newer than this package) is `SessionStorageError`. The driver
 * error is kept as `cause` (core masks credentials in it). `operation` is the public method.
 */
export function toPostgresSessionError(operation: string, error: unknown): SessionError {
  const { code } = (error ?? {}) as { code?: unknown };
  if (code === 'CONNECTION_ENDED') {
    return new SessionClosedError('The PostgreSQL client was ended (sql.end() was called)');
  }
  if (isServerConnectionState(code) || isConnectionError(error)) return new SessionConnectionError(operation, error);
  return new SessionStorageError(operation, error);
}
