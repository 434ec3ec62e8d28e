import {
  isConnectionError,
  SessionAuthenticationError,
  SessionConnectionError,
  SessionError,
  SessionStorageError,
  SessionTimeoutError,
} from '@sessions/core';

const CONNECTION_ERROR_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
  'MongoOperationTimeoutError',
]);

/**
 * The driver waited as long as it was allowed to (a socket, connect or operation timeout), or
 * the budget of shared setup work ran out (`AbortSignal.timeout`'s `TimeoutError`).
 */
const TIMEOUT_ERROR_NAMES = new Set(['MongoNetworkTimeoutError', 'MongoOperationTimeoutError', 'TimeoutError']);

/** The server refuses connections or its name does not resolve: nothing was waited for in vain. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** 18 AuthenticationFailed (wrong credentials or mechanism), 13 Unauthorized (missing permission). */
const AUTHENTICATION_CODES = new Set([18, 13]);

/** Each error of the `cause` chain, the error itself first (a bounded walk). */
function* chain(error: unknown): Generator<{ name?: unknown; code?: unknown; message?: unknown }> {
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 6;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    yield e as { name?: unknown; code?: unknown; message?: unknown };
  }
}

/** Driver errors meaning "the database could not be reached", by class name (several driver copies may coexist). */
export function isMongoConnectionError(error: unknown): boolean {
  for (const e of chain(error)) if (typeof e.name === 'string' && CONNECTION_ERROR_NAMES.has(e.name)) return true;
  return isConnectionError(error);
}

/** The server refused the credentials (or the user lacks a permission). */
export function isAuthenticationFailure(error: unknown): boolean {
  for (const e of chain(error)) if (typeof e.code === 'number' && AUTHENTICATION_CODES.has(e.code)) return true;
  return false;
}

/**
 * The driver gave up waiting: a socket or connect timeout, or a server selection that timed out
 * without learning that the server refuses connections (a server that accepts and never answers).
 */
export function isDriverTimeout(error: unknown): boolean {
  let timedOut = false;
  for (const e of chain(error)) {
    if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return false;
    const name = typeof e.name === 'string' ? e.name : '';
    if (TIMEOUT_ERROR_NAMES.has(name)) timedOut = true;
    if (name === 'MongoServerSelectionError' && /timed out/i.test(String(e.message))) timedOut = true;
  }
  return timedOut;
}

/** What the mapping needs to know about the call that failed. */
export interface FailedCall {
  /** The store's or session's `timeoutMs`. */
  timeoutMs: number;
  /** The call writes: a late answer may mean its write was applied. */
  write: boolean;
}

/**
 * The one place that knows the driver's error shapes: refused credentials →
 * `SessionAuthenticationError`; the driver's own timeouts (which the store sets below its
 * `timeoutMs`) → `SessionTimeoutError` with the driver error as `cause`; any other network or
 * server-selection failure → `SessionConnectionError` (its message is the root cause, such as
 * `connect ECONNREFUSED 127.0.0.1:27017`); any other driver error → `SessionStorageError`.
 * `operation` is the public method the caller called.
 */
export function toMongoSessionError(operation: string, error: unknown, call?: FailedCall): SessionError {
  if (error instanceof SessionError) return error;
  if (isAuthenticationFailure(error)) return new SessionAuthenticationError(operation, error);
  if (!isMongoConnectionError(error)) return new SessionStorageError(operation, error);
  if (call && isDriverTimeout(error)) {
    return new SessionTimeoutError(operation, call.timeoutMs, { mayHaveApplied: call.write, cause: error });
  }
  return new SessionConnectionError(operation, error);
}

const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/** E11000: another writer inserted the same `(sessionId, rev)` first. */
export const isDuplicateKey = (error: unknown): boolean => codeOf(error) === 11000;

/** 238 NotImplemented: the server (FerretDB 1.x) has no such feature, e.g. TTL indexes. */
export const isNotImplemented = (error: unknown): boolean => codeOf(error) === 238;

/** 85/86: an index of that name or key exists with other options; retrying cannot help. */
export const isIndexConflict = (error: unknown): boolean => codeOf(error) === 85 || codeOf(error) === 86;

/** 26 NamespaceNotFound: the collection does not exist. */
export const isNamespaceNotFound = (error: unknown): boolean => codeOf(error) === 26;
