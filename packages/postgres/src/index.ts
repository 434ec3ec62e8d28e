export type {
  PostgresClient,
  PostgresNamespaceOptions,
  PostgresSessionOptions,
  PostgresSessionStoreOptions,
} from './options.js';
export { PostgresSession } from './session.js';
export { PostgresSessionStore } from './store.js';
