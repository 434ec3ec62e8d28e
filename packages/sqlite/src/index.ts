export { SqliteSession, type SqliteSessionOptions } from './session.js';
export { SqliteSessionStore, type SqliteSessionStoreOptions } from './store.js';
