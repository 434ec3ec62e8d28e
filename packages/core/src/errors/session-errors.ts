import { ERROR_KIND, ERROR_KINDS, hasErrorKind, kindsOf } from './brand.js';
import { redactSecrets } from './redact.js';
import { sanitizeError } from './sanitize.js';

export type SessionErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SERIALIZATION'
  | 'ITEM_TOO_LARGE'
  | 'CLOSED'
  | 'CONFLICT'
  | 'CORRUPT_DATA'
  | 'STORAGE'
  | 'CONNECTION'
  | 'TIMEOUT'
  | 'AUTHENTICATION';

/**
 * Base of every error this library throws; switch on `code` or use `instanceof` (which holds
 * across the ESM and CommonJS builds). Messages and the whole `cause` chain are masked: no
 * credential from a connection URL or option reaches a log through them.
 */
export class SessionError extends Error {
  static readonly [ERROR_KIND]: string = 'SessionError';
  static override [Symbol.hasInstance]<C extends abstract new (...args: never) => unknown>(
    this: C,
    value: unknown,
  ): value is InstanceType<C> {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` was asked about (a subclass too).
    return hasErrorKind(this as never, value);
  }

  readonly code: SessionErrorCode;
  /** True when the same call may succeed if made again later (the database was unreachable or slow). */
  readonly retryable: boolean = false;
  declare readonly [ERROR_KINDS]: readonly string[];

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(redactSecrets(message), options?.cause === undefined ? undefined : { cause: safeCause(options.cause) });
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, ERROR_KINDS, { value: Object.freeze(kindsOf(new.target)) });
  }

  /** What `JSON.stringify` shows: name, code, message, the error's own fields, and the cause's message. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const [key, value] of Object.entries(this)) if (!(key in out)) out[key] = value;
    const cause = this.cause;
    if (cause !== undefined) {
      out.cause =
        cause instanceof Error
          ? { name: cause.name, message: redactSecrets(cause.message) }
          : redactSecrets(String(cause));
    }
    return out;
  }
}

/**
 * The cause as it will be kept: masked in place, or, when it cannot be changed (frozen), a plain
 * copy of it that can.
 */
function safeCause(cause: unknown): unknown {
  if (typeof cause === 'string') return redactSecrets(cause);
  sanitizeError(cause);
  if (!(cause instanceof Error) || redactSecrets(cause.message) === cause.message) return cause;
  const copy = new Error(redactSecrets(cause.message));
  copy.name = cause.name;
  const { code } = cause as { code?: unknown };
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}

/** A bad argument (limit, session id, option). Thrown before any I/O. */
export class SessionValidationError extends SessionError {
  static override readonly [ERROR_KIND]: string = 'SessionValidationError';
  constructor(message: string, code: SessionErrorCode = 'INVALID_ARGUMENT', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** An item that is not plain JSON. Thrown before any I/O; nothing of the batch is written. */
export class SessionSerializationError extends SessionValidationError {
  static override readonly [ERROR_KIND]: string = 'SessionSerializationError';
  /** Where the offending value is, e.g. `items[2].content[0].text`. */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`Cannot store ${path}: ${problem}`, 'SERIALIZATION');
    this.path = path;
  }
}

/** An item larger than the backend can store. Thrown before anything is written. */
export class SessionItemTooLargeError extends SessionValidationError {
  static override readonly [ERROR_KIND]: string = 'SessionItemTooLargeError';
  readonly path: string;
  readonly sizeBytes: number;
  readonly maxBytes: number;

  constructor(path: string, sizeBytes: number, maxBytes: number) {
    super(
      `Cannot store ${path}: it is ${sizeBytes} bytes encoded, over this backend's limit of ${maxBytes}`,
      'ITEM_TOO_LARGE',
    );
    this.path = path;
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

/** The store (or the session's client) was closed. */
export class SessionClosedError extends SessionError {
  static override readonly [ERROR_KIND]: string = 'SessionClosedError';
  constructor(message = 'The session store is closed') {
    super('CLOSED', message);
  }
}

/**
 * Why a write was refused: a history transaction's id was used for another transaction, its
 * expected suffix no longer matches, or a copy found a destination that is not a prefix of the source.
 */
export type SessionConflictReason = 'operation_id_reused' | 'suffix_mismatch' | 'destination_diverged';

/** A write was refused because of what is stored; history is unchanged. */
export class SessionConflictError extends SessionError {
  static override readonly [ERROR_KIND]: string = 'SessionConflictError';
  readonly reason: SessionConflictReason;

  constructor(reason: SessionConflictReason, message: string) {
    super('CONFLICT', message);
    this.reason = reason;
  }
}

/** Stored data could not be decoded (corrupted, or written by something else). */
export class SessionCorruptDataError extends SessionError {
  static override readonly [ERROR_KIND]: string = 'SessionCorruptDataError';
  /**
   * Set when the call that met the bad data had already removed it (a `popItem` decodes what it
   * removed): the stored text, so that nothing is lost silently.
   */
  readonly removedText: string | undefined;

  constructor(message: string, options?: { cause?: unknown; removedText?: string }) {
    super('CORRUPT_DATA', message, options);
    this.removedText = options?.removedText;
  }
}

/** The database failed. `cause` holds the driver's error (masked). */
export class SessionStorageError extends SessionError {
  static override readonly [ERROR_KIND]: string = 'SessionStorageError';
  /** The public method the caller called, e.g. `addItems` or `setup`. */
  readonly operation: string;

  constructor(operation: string, cause: unknown, code: SessionErrorCode = 'STORAGE', detail = describeCause(cause)) {
    super(code, `${operation} failed: ${detail}`, { cause });
    this.operation = operation;
  }
}

/** The database could not be reached or the connection dropped. Retry when it is back. */
export class SessionConnectionError extends SessionStorageError {
  static override readonly [ERROR_KIND]: string = 'SessionConnectionError';
  override readonly retryable: boolean = true;
  /** `detail` replaces the cause's message when the driver's is empty or unhelpful. */
  constructor(operation: string, cause: unknown, detail?: string, code: SessionErrorCode = 'CONNECTION') {
    super(operation, cause, code, detail ?? describeCause(cause));
  }
}

/**
 * An operation did not finish within the store's `timeoutMs` (connecting, queueing and the
 * database call together). `mayHaveApplied` says whether a write could still have reached the
 * database: retry such a write as a history transaction with the same `operationId` to apply it
 * exactly once. A `SessionConnectionError`, so code that retries on those retries on this too.
 */
export class SessionTimeoutError extends SessionConnectionError {
  static override readonly [ERROR_KIND]: string = 'SessionTimeoutError';
  readonly timeoutMs: number;
  readonly mayHaveApplied: boolean;

  constructor(operation: string, timeoutMs: number, options: { mayHaveApplied: boolean; cause?: unknown }) {
    const outcome = options.mayHaveApplied
      ? 'the write may have been applied; retry it as a history transaction with the same operationId to apply it exactly once'
      : 'nothing was written';
    super(operation, options.cause, `no answer within ${timeoutMs} ms (${outcome})`, 'TIMEOUT');
    this.timeoutMs = timeoutMs;
    this.mayHaveApplied = options.mayHaveApplied;
  }
}

/** The database refused the credentials (wrong password, missing permission). Not retryable. */
export class SessionAuthenticationError extends SessionStorageError {
  static override readonly [ERROR_KIND]: string = 'SessionAuthenticationError';
  constructor(operation: string, cause: unknown, detail?: string) {
    super(operation, cause, 'AUTHENTICATION', detail);
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name;
  return String(cause);
}
