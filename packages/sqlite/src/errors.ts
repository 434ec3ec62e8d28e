import {
  isConnectionError,
  SessionClosedError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
  SessionValidationError,
} from '@sessions/core';

/** libSQL's own codes for a lost or refused connection to a remote server (WebSocket transport). */
const HRANA_CONNECTION_CODES = new Set(['HRANA_WEBSOCKET_ERROR', 'HRANA_CLOSED_ERROR']);

/** undici's codes (Node's `fetch`, the HTTP transport) for a socket that failed, timed out or closed. */
const UNDICI_CONNECTION_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/**
 * Maps what `@libsql/client` (and this package's engine) throws onto the core hierarchy; the
 * driver error stays as `cause`. `operation` is the public method the caller called.
 */
export function toSqliteSessionError(operation: string, error: unknown): SessionError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'CLIENT_CLOSED') return new SessionClosedError('The libSQL client is closed');
  if (
    (typeof code === 'string' && HRANA_CONNECTION_CODES.has(code)) ||
    isConnectionError(error) ||
    isFetchFailure(error)
  ) {
    return new SessionConnectionError(operation, error);
  }
  if (typeof code === 'string' && code.startsWith('URL_')) {
    return new SessionValidationError(`${operation} failed: ${(error as Error).message}`);
  }
  return new SessionStorageError(operation, error);
}

/**
 * True when the HTTP transport could not reach the server. Node's `fetch` rejects with
 * `TypeError: fetch failed` and puts the reason in `cause`: a socket error (`ECONNREFUSED`, …,
 * which core's `isConnectionError` knows), an undici code, or a bare `Error` (e.g. "bad port").
 * Other TypeErrors (a URL with credentials, which fetch refuses) are not connection failures.
 */
export function isFetchFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    if (name === 'TypeError' && message === 'fetch failed') return true;
    if (typeof code === 'string' && UNDICI_CONNECTION_CODES.has(code)) return true;
  }
  return false;
}
