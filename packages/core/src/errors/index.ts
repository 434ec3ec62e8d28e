export { ERROR_KIND, ERROR_KINDS } from './brand.js';
export { SessionCopyConflictError } from './copy-conflict-error.js';
export {
  type DecryptionFailureReason,
  SessionDecryptionError,
  type SessionDecryptionErrorDetails,
} from './decryption-error.js';
export {
  type Deadline,
  type DriverErrorMapper,
  isConnectionError,
  isReadOperation,
  mapDriverError,
  runOperation,
  withDeadline,
} from './operation.js';
export { redactSecrets, redactUrl, registerSecret, registerUrlSecrets } from './redact.js';
export { sanitizeError } from './sanitize.js';
export {
  SessionAuthenticationError,
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
  SessionTimeoutError,
  SessionValidationError,
} from './session-errors.js';
export { settleTransaction, TRANSACTION_VERDICTS, type TransactionVerdict } from './verdict.js';
