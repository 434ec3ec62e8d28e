export {
  type CopyProgress,
  type CopyResult,
  type CopySessionOptions,
  type CopySessionsOptions,
  type CopySessionsResult,
  copySession,
  copySessions,
  SessionCopyConflictError,
} from './copy.js';
export { type WrappedSession, wrapSessionStore } from './delegate.js';
export {
  type DecryptionFailureReason,
  type EncryptedItem,
  type EncryptedSession,
  type EncryptionKey,
  type EncryptionKeyMaterial,
  type EncryptionOptions,
  SessionDecryptionError,
  type SessionDecryptionErrorDetails,
  type SubtleCryptoLike,
  type UnreadableItemPolicy,
  type WebCryptoKey,
  withEncryption,
} from './encryption.js';
export {
  HISTORY_WINDOW,
  type HistoryWindowOptions,
  historyWindow,
  selectHistoryWindow,
  withHistoryWindow,
  withoutHistoryWindow,
} from './history-window.js';
