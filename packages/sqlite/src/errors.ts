import {
  isConnectionError,
  SessionAuthenticationError,
  SessionClosedError,
  SessionConnectionError,
  type SessionError,
  SessionStorageError,
  SessionTimeoutError,
  SessionValidationError,
} from '@sessions/core';
import { LockWaitExpired } from './engine/busy-retry.js';
import { ConnectionDropped } from './engine/remote.js';

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
 * What `fetch` throws in workerd (Cloudflare Workers) when the connection was refused, reset or
 * dropped before an answer: a plain `Error` with this message (measured: test/workerd.test.ts).
 */
const WORKERD_CONNECTION_LOST = 'Network connection lost.';

/** HTTP statuses of a libSQL server (sqld, Turso) that refused the token. */
const AUTH_HTTP_STATUSES = new Set([401, 403]);

/**
 * Maps what `@libsql/client` (and this package's engine) throws onto the core hierarchy; the
 * driver error stays as `cause`. `operation` is the public method the caller called.
 */
export function toSqliteSessionError(operation: string, error: unknown): SessionError {
  if (error instanceof LockWaitExpired) {
    // Every attempt met SQLITE_BUSY and was rolled back: nothing was written.
    return new SessionTimeoutError(operation, error.timeoutMs, { mayHaveApplied: false, cause: error.cause });
  }
  if (error instanceof ConnectionDropped) return new SessionConnectionError(operation, error.cause, error.message);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'CLIENT_CLOSED') return new SessionClosedError('The libSQL client is closed');
  if (isAuthenticationFailure(error)) return new SessionAuthenticationError(operation, error);
  if (
    (typeof code === 'string' && HRANA_CONNECTION_CODES.has(code)) ||
    isConnectionError(error) ||
    isFetchFailure(error) ||
    isClosedStream(error)
  ) {
    return new SessionConnectionError(operation, error, rootCauseDetail(error));
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
 * workerd's `fetch` rejects with `Error: Network connection lost.` instead. Other TypeErrors (a
 * URL with credentials, which fetch refuses) are not connection failures.
 */
export function isFetchFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    if (name === 'TypeError' && message === 'fetch failed') return true;
    if (message === WORKERD_CONNECTION_LOST) return true;
    if (typeof code === 'string' && UNDICI_CONNECTION_CODES.has(code)) return true;
  }
  return false;
}

/**
 * True when hrana closed the stream or connection a call was using for a reason other than the
 * server's answer to a statement (the connection was lost, or dropped after a stalled call: see
 * engine/remote.ts). A `ClosedError` over a server `ResponseError` is that statement's error.
 */
export function isClosedStream(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, cause } = e as { name?: unknown; cause?: unknown };
    if (name === 'ClosedError') return (cause as { name?: unknown } | undefined)?.name !== 'ResponseError';
  }
  return false;
}

/**
 * True when a libSQL server refused the credentials: over HTTP, status 401 or 403 (sqld answers
 * 401 for a missing, invalid or expired token; `@libsql/client` reports `SERVER_ERROR` with an
 * `HttpServerError` carrying the status as `cause`); over WebSocket, the server's `AUTH_*` error
 * code (`AUTH_JWT_INVALID`, `AUTH_JWT_EXPIRED`, …) as the `LibsqlError`'s code.
 */
export function isAuthenticationFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, status, name } = e as { code?: unknown; status?: unknown; name?: unknown };
    if (typeof code === 'string' && code.startsWith('AUTH_')) return true;
    if (name === 'HttpServerError' && typeof status === 'number' && AUTH_HTTP_STATUSES.has(status)) return true;
  }
  return false;
}

/**
 * The messages of the cause chain, outermost first, each one that adds something: `fetch failed:
 * connect ECONNREFUSED 127.0.0.1:8080` rather than a wrapper's bare `fetch failed`.
 */
export function rootCauseDetail(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { message, name } = e as { message?: unknown; name?: unknown };
    const text = typeof message === 'string' && message ? message : typeof name === 'string' ? name : String(e);
    if (text && !parts.some((part) => part.includes(text))) parts.push(text);
  }
  return parts.join(': ');
}
