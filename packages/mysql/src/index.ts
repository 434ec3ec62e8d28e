export type {
  MySQLClient,
  MySQLNamespaceOptions,
  MySQLSessionOptions,
  MySQLSessionStoreOptions,
} from './options.js';
export { MySQLSession } from './session.js';
export { MySQLSessionStore } from './store.js';
