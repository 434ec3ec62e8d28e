/**
 * URL → store options, with no I/O and no driver import (the descriptor loads this file alone).
 * Formerly the `sqlite` row of the CLI's backend table; same parameters, same behaviour.
 */
import { storeOptionsFromUrl, takeUrlParams } from '@sessions/core';

/** URL schemes a store opens (lower case). `:memory:` has none and is matched on its own. */
export const SQLITE_SCHEMES: readonly string[] = ['file', 'libsql', 'http', 'https', 'ws', 'wss'];

/** Query parameters that are store options, read and removed before the URL reaches the driver. */
const STORE_PARAMS = ['ttlSeconds', 'tablePrefix'] as const;

/** What a URL opens: an in-memory database, a local file, a libSQL server, or nothing we know. */
export type SqliteUrlKind = 'memory' | 'file' | 'remote';

export function sqliteUrlKind(url: string): SqliteUrlKind | undefined {
  if (url === ':memory:' || /^file::memory:/i.test(url)) return 'memory';
  const colon = url.indexOf(':');
  const scheme = colon > 0 ? url.slice(0, colon).toLowerCase() : '';
  if (scheme === 'file') return 'file';
  return SQLITE_SCHEMES.includes(scheme) ? 'remote' : undefined;
}

/** True when a `SqliteSessionStore` takes `url`. */
export function matchesSqliteUrl(url: string): boolean {
  // Our own parameters may follow `:memory:` (`:memory:?tablePrefix=t_`): judge the URL without them.
  return typeof url === 'string' && sqliteUrlKind(takeUrlParams(url, STORE_PARAMS).rest) !== undefined;
}

/**
 * `file:chat.db?tablePrefix=app_&ttlSeconds=86400` → `{ url: 'file:chat.db', tablePrefix: 'app_',
 * ttlSeconds: 86400 }`. Every other query parameter (`tls`, `authToken`, …) stays in the URL for
 * `@libsql/client`. The URL itself is checked by the store.
 */
export function optionsFromUrl(url: string): Record<string, unknown> {
  return storeOptionsFromUrl(url, { label: 'a SQLite / libSQL URL', text: ['tablePrefix'] });
}
