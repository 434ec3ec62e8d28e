import {
  isConnectionError,
  SessionAuthenticationError,
  SessionClosedError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
} from '@sessions/core';

/**
 * SQLSTATEs that mean "the server went away or is not accepting us right now": class 08
 * (connection exception), 57P01..57P05 (admin/crash shutdown, cannot connect now, database
 * dropped, idle session timeout), 53300 (too many connections), 25P03/25P04 (the server ended
 * the connection of a transaction left idle, or running, too long).
 */
function isServerConnectionState(code: unknown): boolean {
  return (
    typeof code === 'string' &&
    (code.startsWith('08') || /^57P0[1-5]$/.test(code) || code === '53300' || /^25P0[34]$/.test(code))
  );
}

/**
 * SQLSTATEs of refused credentials: 28P01 invalid_password (a wrong password) and 28000
 * invalid_authorization_specification (no `pg_hba.conf` entry, or a `reject` one, for this
 * user, database and address).
 */
const AUTHENTICATION_STATES = new Set(['28P01', '28000']);

/** 42P01 undefined_table and 3F000 invalid_schema_name: the tables (or their schema) do not exist. */
export function isMissingRelation(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown };
  return code === '42P01' || code === '3F000';
}

/**
 * The one place that knows the `postgres` driver's error shapes. An ended client is
 * `SessionClosedError`; refused credentials are `SessionAuthenticationError` (not retryable);
 * lost or refused connections (socket errors, the driver's CONNECTION_* and CONNECT_TIMEOUT
 * codes and the server's shutdown SQLSTATEs) are `SessionConnectionError`; everything else (a
 * `PostgresError`, a schema newer than this package, tables missing under `createIfMissing:
 * false`) is `SessionStorageError`. The driver error is kept as `cause` (core masks credentials
 * in it). `operation` is the public method.
 */
export function toPostgresSessionError(operation: string, error: unknown): SessionError {
  const { code } = (error ?? {}) as { code?: unknown };
  if (code === 'CONNECTION_ENDED') {
    return new SessionClosedError('The PostgreSQL client was ended (sql.end() was called)');
  }
  if (typeof code === 'string' && AUTHENTICATION_STATES.has(code))
    return new SessionAuthenticationError(operation, error);
  if (isServerConnectionState(code) || isConnectionError(error)) return new SessionConnectionError(operation, error);
  return new SessionStorageError(operation, error);
}
