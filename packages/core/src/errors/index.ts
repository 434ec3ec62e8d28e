export { ERROR_KIND, ERROR_KINDS } from './brand.js';
export { SessionCopyConflictError } from './copy-conflict-error.js';
export {
  type DecryptionFailureReason,
  SessionDecryptionError,
  type SessionDecryptionErrorDetails,
} from './decryption-error.js';
export { type DriverErrorMapper, isConnectionError, mapDriverError, runOperation } from './operation.js';
export { redactSecrets, redactUrl, registerSecret, registerUrlSecrets } from './redact.js';
export { sanitizeError } from './sanitize.js';
export {
  SessionClosedError,
  SessionConflictError,
  type SessionConflictReason,
  SessionConnectionError,
  SessionCorruptDataError,
  SessionError,
  type SessionErrorCode,
  SessionItemTooLargeError,
  SessionSerializationError,
  SessionStorageError,
  SessionValidationError,
} from './session-errors.js';
export { settleTransaction, TRANSACTION_VERDICTS, type TransactionVerdict } from './verdict.js';
