import {
  SessionClosedError,
  SessionConnectionError,
  SessionError,
  SessionStorageError,
  SessionTimeoutError,
} from './session-errors.js';

/** Turns whatever a driver threw during `operation` into a `SessionError` (a backend's `errors.ts`). */
export type DriverErrorMapper = (operation: string, error: unknown) => SessionError;

/**
 * The one wrapper every public operation of every store and session goes through (the Auth.js
 * pattern): a `SessionError` passes unchanged; anything else becomes `SessionClosedError` when the
 * store was closed meanwhile, or whatever the backend's mapper makes of it. `operation` is the
 * public method the caller called, never an internal step.
 */
export async function runOperation<T>(
  operation: string,
  body: () => Promise<T>,
  mapError: DriverErrorMapper,
  isClosed: () => boolean = () => false,
  deadline?: Deadline,
): Promise<T> {
  try {
    return await (deadline ? withDeadline(operation, body(), deadline) : body());
  } catch (error) {
    if (error instanceof SessionError) throw error;
    if (isClosed()) throw new SessionClosedError();
    throw mapError(operation, error);
  }
}

/** How long an operation may take, and whether it writes (a late write may still land). */
export interface Deadline {
  timeoutMs: number;
  write: boolean;
}

/**
 * Rejects with `SessionTimeoutError` once `timeoutMs` have passed. The core deadline is the
 * outer bound; backends also set their driver's own timeouts so that the abandoned call ends
 * and frees its connection. A call that settles after the deadline is ignored (and its
 * rejection swallowed, so that it never becomes an unhandled rejection).
 */
export function withDeadline<T>(operation: string, promise: Promise<T>, deadline: Deadline): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new SessionTimeoutError(operation, deadline.timeoutMs, { mayHaveApplied: deadline.write })),
      deadline.timeoutMs,
    );
    // A pending deadline must not keep a process alive that has nothing else to do.
    (timer as { unref?: () => void }).unref?.();
  });
  promise.catch(() => {});
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** The default mapping: unreachable database → `SessionConnectionError`, anything else → `SessionStorageError`. */
export const mapDriverError: DriverErrorMapper = (operation, error) =>
  isConnectionError(error) ? new SessionConnectionError(operation, error) : new SessionStorageError(operation, error);

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);
// `AbortError`: requests are aborted here only when their deadline passed.
const CONNECTION_NAMES = /Connection|Socket|Network|Disconnected|ClientClosed|Timeout|AbortError/i;

/**
 * True when `error` (or any error in its `cause` chain, or inside an `AggregateError`, which Node
 * throws when every address of a host refused) says the database was unreachable.
 */
export function isConnectionError(error: unknown, depth = 0): boolean {
  for (let e = error; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name, errno, errors } = e as { code?: unknown; name?: unknown; errno?: unknown; errors?: unknown };
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    if (typeof errno === 'string' && CONNECTION_CODES.has(errno)) return true;
    if (typeof name === 'string' && CONNECTION_NAMES.test(name)) return true;
    if (Array.isArray(errors) && errors.slice(0, 8).some((inner) => isConnectionError(inner, depth + 1))) return true;
  }
  return false;
}

/** Operations that only read: a late answer to them cannot have changed anything. */
const READ_OPERATIONS = new Set(['getItems', 'getSessionId', 'getMetadata', 'listSessions', 'getSessionInfo']);

export function isReadOperation(operation: string): boolean {
  return READ_OPERATIONS.has(operation);
}
