import {
  isConnectionError,
  SessionAuthenticationError,
  SessionClosedError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
} from '@sessions/core';

/**
 * Server errors that mean "the server went away or will not take us right now": 1040 too many
 * connections, 1053 shutdown in progress, 1077/1078/1079/1080 shutdown steps, 1152/1153/1159/1161
 * aborted or timed-out network reads and writes, 1927 connection killed (MariaDB), 4031 the
 * server closed an idle client (MySQL 8).
 */
const CONNECTION_ERRNOS = new Set([1040, 1053, 1077, 1078, 1079, 1080, 1152, 1153, 1159, 1161, 1927, 4031]);

/** mysql2's own codes for a lost or unusable connection. */
const CONNECTION_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_PACKETS_OUT_OF_ORDER',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);

/**
 * Refused credentials: 1045 access denied (a wrong password or no such user from this host),
 * 1044 no access to the database, 1698 access denied without a password, 1251 the server wants an
 * authentication method the client does not offer.
 */
const AUTHENTICATION_ERRNOS = new Set([1044, 1045, 1698, 1251]);

/** 1146 ER_NO_SUCH_TABLE: the tables do not exist. */
export function isMissingTable(error: unknown): boolean {
  return (error as { errno?: unknown } | undefined)?.errno === 1146;
}

/**
 * The one place that knows `mysql2`'s error shapes. An ended pool is `SessionClosedError`; refused
 * credentials are `SessionAuthenticationError` (not retryable); lost or refused connections
 * (socket errors, mysql2's PROTOCOL_* codes, a statement that timed out on the client, the
 * server's shutdown and network errnos) are `SessionConnectionError`; everything else (a server
 * error, a schema newer than this package, tables missing under `createIfMissing: false`) is
 * `SessionStorageError`. The driver error is kept as `cause` (core masks credentials in it).
 */
export function toMySQLSessionError(operation: string, error: unknown): SessionError {
  const { errno, code, message } = (error ?? {}) as { errno?: unknown; code?: unknown; message?: unknown };
  if (message === 'Pool is closed.') return new SessionClosedError('The mysql2 pool was ended (pool.end() was called)');
  if (typeof errno === 'number' && AUTHENTICATION_ERRNOS.has(errno)) {
    return new SessionAuthenticationError(operation, error);
  }
  if (
    (typeof errno === 'number' && CONNECTION_ERRNOS.has(errno)) ||
    (typeof code === 'string' && CONNECTION_CODES.has(code)) ||
    isConnectionError(error)
  ) {
    return new SessionConnectionError(operation, error);
  }
  return new SessionStorageError(operation, error);
}
