export type { SqliteNamespaceOptions, SqliteSessionOptions, SqliteSessionStoreOptions } from './options.js';
export { SqliteSession } from './session.js';
export { SqliteSessionStore } from './store.js';
