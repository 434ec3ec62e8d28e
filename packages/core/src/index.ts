export { ClientHandle } from './base/client-handle.js';
export { MissingTables, type MissingTablesPolicy } from './base/missing-tables.js';
export { OncePerClient } from './base/once-per-client.js';
export { checkOptions, suggest } from './base/options.js';
export { BaseSession, type BaseSessionOptions, type MetadataWrite } from './base/session.js';
export { BaseSessionStore, type BaseSessionStoreOptions } from './base/store.js';
export { SessionWriteQueue } from './base/write-queue.js';
export {
  decodeMetadata,
  MAX_METADATA_BYTES,
  mergeMetadata,
  metadataMatches,
  validateMetadataPatch,
} from './catalog/metadata.js';
export {
  type CatalogPosition,
  type CatalogQuery,
  compareListingOrder,
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  MAX_PAGE_SIZE,
  parseListOptions,
} from './catalog/query.js';
export {
  DEFAULT_TIMEOUT_MS,
  MAX_SESSION_ID_BYTES,
  MAX_TTL_SECONDS,
  validateCreateIfMissing,
  validateLimit,
  validateName,
  validateOperationId,
  validateSessionId,
  validateTimeoutMs,
  validateTtlSeconds,
} from './encoding/arguments.js';
export {
  decodeItem,
  decodeItems,
  encodeItem,
  encodeItems,
  MAX_ITEM_DEPTH,
  utf8ByteLength,
} from './encoding/items.js';
export {
  DEFAULT_OPERATION_RETENTION_SECONDS,
  type EncodedHistoryTransaction,
  encodeHistoryMutations,
  encodeHistoryTransaction,
  fingerprint,
} from './encoding/transactions.js';
export * from './errors/index.js';
export {
  createInMemoryStorage,
  InMemorySession,
  type InMemorySessionOptions,
  InMemorySessionStore,
  type InMemorySessionStoreOptions,
  type InMemoryStorage,
} from './memory/in-memory.js';
export { KNOWN_BACKENDS, type KnownBackend } from './open/known-backends.generated.js';
export {
  type OpenedSessionStore,
  type OpenSessionStoreOptions,
  openSessionStore,
  type ResolvedStoreUrl,
  resolveStoreUrl,
} from './open/open-store.js';
export { type BackendDescriptor, type BackendTestServer, backendMatches } from './protocol/backend.js';
export type {
  ListSessionsOptions,
  MetadataCapable,
  MetadataFilter,
  SessionCatalog,
  SessionFilter,
  SessionInfo,
  SessionMetadata,
  SessionPage,
} from './protocol/catalog.js';
export type { JsonObject, JsonValue } from './protocol/json.js';
export type {
  AgentInputItem,
  CompactionCapable,
  FullSession,
  HistoryAppendItemsTransaction,
  HistoryMutationArgs,
  HistoryMutationCapable,
  HistoryReplaceFunctionCallMutation,
  HistoryReplaceSuffixTransaction,
  HistoryTransaction,
  HistoryTransactionArgs,
  HistoryTransactionCapable,
  Session,
  SessionStore,
} from './protocol/session.js';
export {
  decodeUrlPart,
  decodeUrlQuery,
  definedOptions,
  parseBooleanParam,
  parseNumberParam,
  type StoreUrlParams,
  storeOptionsFromUrl,
  takeUrlParams,
  withUrlParams,
} from './url/params.js';
export * from './wrappers/index.js';
