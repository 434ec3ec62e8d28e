export {
  type CopyProgress,
  type CopyResult,
  type CopySessionOptions,
  type CopySessionsOptions,
  type CopySessionsResult,
  copySession,
  copySessions,
} from './copy.js';
export { type WrappedSession, type WrappedStore, wrapSessionStore } from './delegate.js';
export {
  type EncryptedItem,
  type EncryptedSession,
  type EncryptionKey,
  type EncryptionKeyMaterial,
  type EncryptionOptions,
  type SubtleCryptoLike,
  type UnreadableItemPolicy,
  type WebCryptoKey,
  withEncryption,
} from './encryption/index.js';
export {
  HISTORY_WINDOW,
  type HistoryWindowOptions,
  historyWindow,
  selectHistoryWindow,
  withHistoryWindow,
  withoutHistoryWindow,
} from './history-window.js';
export {
  describeSessionTarget,
  type HookContext,
  type HookedSession,
  type HookedStore,
  type SessionHooks,
  type SessionOperation,
  type SessionOperationEvent,
  type SessionOperationStart,
  type SessionTargetDescription,
  type WritePart,
  withHooks,
} from './hooks/index.js';
