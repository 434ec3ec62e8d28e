export type { MongoNamespaceOptions, MongoSessionOptions, MongoSessionStoreOptions } from './options.js';
export { MongoSession } from './session.js';
export { MongoSessionStore } from './store.js';
