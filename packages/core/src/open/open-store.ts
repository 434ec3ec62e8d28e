/**
 * Opens any @sessions store from a URL, loading the backend package for the URL's scheme only when
 * it is used: core depends on no backend, and an app that opens `redis://` never loads a SQL driver.
 * The table of known backends is data generated from their descriptors; the descriptor itself
 * (URL parsing, `:memory:`-style matching) comes from the installed backend.
 */

import { suggest } from '../base/options.js';
import { SessionValidationError } from '../errors/index.js';
import { redactUrl } from '../errors/redact.js';
import { createInMemoryStorage, InMemorySessionStore, type InMemoryStorage } from '../memory/in-memory.js';
import { type BackendDescriptor, backendMatches } from '../protocol/backend.js';
import type { SessionCatalog } from '../protocol/catalog.js';
import type { SessionStore } from '../protocol/session.js';
import { definedOptions, parseNumberParam, takeUrlParams } from '../url/params.js';
import { KNOWN_BACKENDS, type KnownBackend } from './known-backends.generated.js';
import { importBackend, loadInstalledDescriptors } from './load-backend.js';

/** Options merged over what the URL says (they win over its query parameters). */
export interface OpenSessionStoreOptions {
  /** Sliding expiry of every session, in seconds (also `?ttlSeconds=` in the URL). */
  ttlSeconds?: number;
  /** Anything else the backend's store constructor accepts, e.g. `{ timeoutMs, clientOptions }`. */
  [option: string]: unknown;
}

/** What `openSessionStore(url, options)` constructs: which backend, from which package, with what. */
export interface ResolvedStoreUrl {
  backend: string;
  module: string;
  exportName: string;
  options: Record<string, unknown>;
}

/** Every store of this library keeps a catalog. */
export type OpenedSessionStore = SessionStore & SessionCatalog;

type StoreConstructor = new (options: Record<string, unknown>) => OpenedSessionStore;

/** Named in-memory storages (`memory:name`), shared by every store opened in this process. */
const memoryStorages = new Map<string, InMemoryStorage>();

/**
 * A store for `url`: `memory:` / `memory:<name>` (this process), or any backend's URL (`file:`,
 * `:memory:`, `libsql://`, `redis(s)://`, `postgres(ql)://`, `mongodb(+srv)://`, `dynamodb://`, …).
 * Query parameters `ttlSeconds` and the backend's namespace options are read and removed before the
 * URL reaches the driver; `options` are merged last. The backend package and its driver must be
 * installed (`npm i @sessions/redis redis`); when one is missing the error says what to install.
 */
export async function openSessionStore(
  url: string,
  options: OpenSessionStoreOptions = {},
): Promise<OpenedSessionStore> {
  const resolved = await resolveStoreUrl(url, options);
  if (resolved.backend === 'memory') return new InMemorySessionStore(resolved.options);
  const loaded = await importBackend(knownBackend(resolved.backend), resolved.module);
  const Store = loaded[resolved.exportName];
  if (typeof Store !== 'function') {
    throw new SessionValidationError(`${resolved.module} does not export ${resolved.exportName}`);
  }
  return new (Store as StoreConstructor)(resolved.options);
}

/** What `openSessionStore(url, options)` would construct; loads only the backend's descriptor. */
export async function resolveStoreUrl(url: string, options: OpenSessionStoreOptions = {}): Promise<ResolvedStoreUrl> {
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
  const descriptor = await findDescriptor(url);
  return {
    backend: descriptor.name,
    module: descriptor.packageName,
    exportName: descriptor.storeExport,
    options: definedOptions({ ...descriptor.optionsFromUrl(url), ...options }),
  };
}

async function findDescriptor(url: string): Promise<BackendDescriptor> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const byScheme = KNOWN_BACKENDS.find((backend) => scheme !== undefined && backend.schemes.includes(scheme));
  // A scheme names its backend: load that descriptor only (a missing package says what to install).
  const candidates = byScheme
    ? await loadInstalledDescriptors([byScheme], { required: true })
    : await loadInstalledDescriptors(KNOWN_BACKENDS);
  // Without a known scheme (`:memory:`, a bare path), an installed backend may still claim the URL.
  const found = candidates.find((descriptor) => backendMatches(descriptor, url));
  if (found) return found;
  const schemes = ['memory', ...KNOWN_BACKENDS.flatMap((backend) => backend.schemes)];
  const near = scheme ? suggest(scheme, schemes) : undefined;
  // The URL goes last: masking reads everything up to the last `@` on its line as credentials.
  throw new SessionValidationError(
    `Unsupported store URL${near ? ` (did you mean ${near}:?)` : ''}: use one of ${schemes.map((s) => `${s}:`).join(', ')}, or :memory: with the sqlite backend; got ${JSON.stringify(redactUrl(url))}`,
  );
}

function knownBackend(name: string): KnownBackend {
  const backend = KNOWN_BACKENDS.find((candidate) => candidate.name === name);
  if (!backend) throw new SessionValidationError(`Unknown backend ${JSON.stringify(name)}`);
  return backend;
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
