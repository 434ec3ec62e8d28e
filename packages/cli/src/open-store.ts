/**
 * Opens any @sessions store from a URL. The table of backends is built from their descriptors
 * (`registry/backends.generated.ts`); each backend package is imported only when its scheme is
 * used, so unused drivers are never loaded.
 */
import {
  backendMatches,
  createInMemoryStorage,
  definedOptions,
  InMemorySessionStore,
  type InMemoryStorage,
  parseNumberParam,
  redactUrl,
  type SessionStore,
  SessionValidationError,
  suggest,
  takeUrlParams,
} from '@sessions/core';
import { BACKEND_DESCRIPTORS } from './registry/backends.generated.js';

/** Options merged over what the URL says (they win over its query parameters). */
export interface OpenSessionStoreOptions {
  /** Sliding expiry of every session, in seconds (also `?ttlSeconds=` in the URL). */
  ttlSeconds?: number;
  /** Anything else the backend's store constructor accepts, e.g. `{ clientOptions }`. */
  [option: string]: unknown;
}

type StoreConstructor = new (options: Record<string, unknown>) => SessionStore;

/** `takeUrlParams` of core, under the name this package has always exported it by. */
export const takeParams = takeUrlParams;

/** Named in-memory storages (`memory:name`), shared by every store opened in this process. */
const memoryStorages = new Map<string, InMemoryStorage>();

/**
 * A store for `url`: `memory:` / `memory:<name>` (in this process), or any backend's URL
 * (`file:`, `:memory:`, `libsql://`, `http(s)://`, `redis(s)://`, `postgres(ql)://`,
 * `mongodb(+srv)://`, `dynamodb://`, …, see each backend's `url.ts`). Query parameters
 * `ttlSeconds` and the backend's namespace options are read and removed before the URL reaches
 * the driver; every other parameter is left for the driver. `options` are merged last.
 *
 *   await using store = await openSessionStore('postgres://app:secret@db/app?schema=chat&ttlSeconds=86400');
 */
export async function openSessionStore(url: string, options: OpenSessionStoreOptions = {}): Promise<SessionStore> {
  const resolved = resolveStoreUrl(url, options);
  const Store = await loadStore(resolved);
  return new Store(resolved.options);
}

/** What `openSessionStore(url, options)` would construct, without loading anything. */
export interface ResolvedStoreUrl {
  backend: string;
  module: string;
  exportName: string;
  options: Record<string, unknown>;
}

export function resolveStoreUrl(url: string, options: OpenSessionStoreOptions = {}): ResolvedStoreUrl {
  if (typeof url !== 'string' || url.length === 0) {
    throw new SessionValidationError('openSessionStore expects a URL string');
  }
  if (/^memory:/i.test(url)) {
    return {
      backend: 'memory',
      module: '@sessions/core',
      exportName: 'InMemorySessionStore',
      options: memoryOptions(url, options),
    };
  }
  const backend = BACKEND_DESCRIPTORS.find((candidate) => backendMatches(candidate, url));
  if (!backend) {
    const schemes = ['memory', ...BACKEND_DESCRIPTORS.flatMap((d) => d.schemes)];
    const given = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    const near = given ? suggest(given, schemes) : undefined;
    throw new SessionValidationError(
      `Unsupported store URL ${JSON.stringify(redactUrl(url))}${near ? ` (did you mean ${near}:?)` : ''}: use one of ${schemes.map((scheme) => `${scheme}:`).join(', ')} (or :memory:)`,
    );
  }
  return {
    backend: backend.name,
    module: backend.packageName,
    exportName: backend.storeExport,
    options: definedOptions({ ...backend.optionsFromUrl(url), ...options }),
  };
}

function memoryOptions(url: string, options: OpenSessionStoreOptions): Record<string, unknown> {
  const { rest, params } = takeUrlParams(url, ['ttlSeconds']);
  const name = rest.slice('memory:'.length);
  let storage: InMemoryStorage | undefined;
  if (name !== '') {
    storage = memoryStorages.get(name);
    if (!storage) {
      storage = createInMemoryStorage();
      memoryStorages.set(name, storage);
    }
  }
  return definedOptions({ storage, ttlSeconds: parseNumberParam(params.get('ttlSeconds'), 'ttlSeconds'), ...options });
}

async function loadStore(backend: ResolvedStoreUrl): Promise<StoreConstructor> {
  if (backend.backend === 'memory') return InMemorySessionStore as unknown as StoreConstructor;
  let loaded: Record<string, unknown>;
  try {
    // A variable specifier: bundlers and vitest leave it alone, so a backend that is not
    // installed only fails when its scheme is used.
    const specifier = backend.module;
    loaded = await import(specifier);
  } catch (error) {
    const descriptor = BACKEND_DESCRIPTORS.find((d) => d.name === backend.backend);
    const missing = (error as { code?: unknown })?.code === 'ERR_MODULE_NOT_FOUND';
    throw new SessionValidationError(
      `The ${backend.backend} backend (${backend.module}) could not be loaded: ${(error as Error)?.message ?? String(error)}` +
        (missing && descriptor ? `; install it with: npm i ${descriptor.packageName} ${descriptor.driver}` : ''),
    );
  }
  const Store =
    loaded[backend.exportName] ?? (loaded.default as Record<string, unknown> | undefined)?.[backend.exportName];
  if (typeof Store !== 'function') {
    throw new SessionValidationError(`${backend.module} does not export ${backend.exportName}`);
  }
  return Store as StoreConstructor;
}
