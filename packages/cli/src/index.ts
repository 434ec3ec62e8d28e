export { type OpenSessionStoreOptions, openSessionStore } from './open-store.js';
