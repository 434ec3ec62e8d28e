/**
 * `openSessionStore` lives in `@sessions/core` (it loads backends on demand and needs none of them
 * installed); the CLI re-exports it under the names it has always exported.
 */
import { takeUrlParams } from '@sessions/core';

export {
  type OpenSessionStoreOptions,
  openSessionStore,
  type ResolvedStoreUrl,
  resolveStoreUrl,
} from '@sessions/core';

/** `takeUrlParams` of core, under the name this package has always exported it by. */
export const takeParams = takeUrlParams;
