export type { PostgresClient } from './client.js';
export { type PostgresNamespaceOptions, PostgresSession, type PostgresSessionOptions } from './session.js';
export { PostgresSessionStore, type PostgresSessionStoreOptions } from './store.js';
