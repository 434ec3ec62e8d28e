export type { RedisSessionClient } from './client.js';
export { RedisSession, type RedisSessionOptions } from './session.js';
export { RedisSessionStore, type RedisSessionStoreOptions } from './store.js';
