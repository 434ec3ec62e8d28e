import { isConnectionError, SessionConnectionError, SessionError, SessionStorageError } from '@sessions/core';

const CONNECTION_ERROR_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
]);

/** Driver errors meaning "the database could not be reached", by class name (several driver copies may coexist). */
export function isMongoConnectionError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string' && CONNECTION_ERROR_NAMES.has(name)) return true;
  }
  return isConnectionError(error);
}

/**
 * The one place that knows the driver's error shapes: unreachable server → `SessionConnectionError`,
 * any other driver error → `SessionStorageError` (driver error kept as `cause`, masked by core).
 * `operation` is the public method the caller called.
 */
export function toMongoSessionError(operation: string, error: unknown): SessionError {
  if (error instanceof SessionError) return error;
  return isMongoConnectionError(error)
    ? new SessionConnectionError(operation, error)
    : new SessionStorageError(operation, error);
}

const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/** E11000: another writer inserted the same `(sessionId, rev)` first. */
export const isDuplicateKey = (error: unknown): boolean => codeOf(error) === 11000;

/** 238 NotImplemented: the server (FerretDB 1.x) has no such feature, e.g. TTL indexes. */
export const isNotImplemented = (error: unknown): boolean => codeOf(error) === 238;

/** 85/86: an index of that name or key exists with other options; retrying cannot help. */
export const isIndexConflict = (error: unknown): boolean => codeOf(error) === 85 || codeOf(error) === 86;
