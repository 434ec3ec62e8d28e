export { MongoSession, type MongoSessionOptions } from './session.js';
export { MongoSessionStore, type MongoSessionStoreOptions } from './store.js';
