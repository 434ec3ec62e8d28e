export {
  type OpenSessionStoreOptions,
  openSessionStore,
  type ResolvedStoreUrl,
  resolveStoreUrl,
} from './open-store.js';
export { BACKEND_DESCRIPTORS } from './registry/backends.generated.js';
