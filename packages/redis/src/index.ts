export type {
  RedisNamespaceOptions,
  RedisSessionClient,
  RedisSessionOptions,
  RedisSessionStoreOptions,
} from './options.js';
export { RedisSession } from './session.js';
export { RedisSessionStore } from './store.js';
