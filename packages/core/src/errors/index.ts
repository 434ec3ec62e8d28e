import { redactSecrets } from './redact.js';

export { redactSecrets, redactUrl } from './redact.js';

export type SessionErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SERIALIZATION'
  | 'ITEM_TOO_LARGE'
  | 'CLOSED'
  | 'CONFLICT'
  | 'CORRUPT_DATA'
  | 'STORAGE'
  | 'CONNECTION';

/** Base of every error this library throws; switch on `code` or use `instanceof`. */
export class SessionError extends Error {
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(redactSecrets(message), options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad argument (limit, session id, option). Thrown before any I/O. */
export class SessionValidationError extends SessionError {
  constructor(message: string, code: SessionErrorCode = 'INVALID_ARGUMENT') {
    super(code, message);
  }
}

/** An item that is not plain JSON. Thrown before any I/O; nothing of the batch is written. */
export class SessionSerializationError extends SessionValidationError {
  /** Where the offending value is, e.g. `items[2].content[0].text`. */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`Cannot store ${path}: ${problem}`, 'SERIALIZATION');
    this.path = path;
  }
}

/** An item larger than the backend can store. Thrown before anything is written. */
export class SessionItemTooLargeError extends SessionValidationError {
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
  constructor(message = 'The session store is closed') {
    super('CLOSED', message);
  }
}

export type SessionConflictReason = 'operation_id_reused' | 'suffix_mismatch';

/** A history transaction was refused; history is unchanged. */
export class SessionConflictError extends SessionError {
  readonly reason: SessionConflictReason;

  constructor(reason: SessionConflictReason, message: string) {
    super('CONFLICT', message);
    this.reason = reason;
  }
}

/** Stored data could not be decoded (corrupted, or written by something else). */
export class SessionCorruptDataError extends SessionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CORRUPT_DATA', message, options);
  }
}

/** The database failed. `cause` holds the driver's error. */
export class SessionStorageError extends SessionError {
  /** The session operation that failed, e.g. `addItems`. */
  readonly operation: string;

  constructor(operation: string, cause: unknown, code: SessionErrorCode = 'STORAGE', detail = describeCause(cause)) {
    super(code, `${operation} failed: ${detail}`, { cause });
    this.operation = operation;
  }
}

/** The database could not be reached or the connection dropped. Retry when it is back. */
export class SessionConnectionError extends SessionStorageError {
  /** `detail` replaces the cause's message when the driver's is empty or unhelpful. */
  constructor(operation: string, cause: unknown, detail?: string) {
    super(operation, cause, 'CONNECTION', detail ?? describeCause(cause));
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name;
  return String(cause);
}
