import { nodeBuiltin } from './node-builtins.js';

/**
 * `file:relative.db` → `file:///cwd/relative.db`, fixed when the store is built, so that the
 * lazily opened client (and any reopening after SQLITE_BUSY) reaches the same file whatever
 * the working directory is by then. Absolute URLs and URLs with a query are left alone.
 */
export function absoluteFileUrl(url: string): string {
  const rest = url.slice('file:'.length);
  if (rest.startsWith('/') || /[?#]/.test(rest)) return url;
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    return url;
  }
  return nodeBuiltin('url').pathToFileURL(nodeBuiltin('path').resolve(path)).href;
}

/**
 * The path of the file a `file:` URL opens (as `@libsql/client` reads it: the query is not part
 * of the path), for checking that it exists without opening it (which would create it).
 */
export function filePathOf(url: string): string {
  let rest = url.slice('file:'.length).replace(/[?#].*$/s, '');
  // `file://localhost/p` and `file:///p` are `/p`; `file:/p` is `/p` already.
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    rest = slash < 0 ? '/' : rest.slice(slash);
  }
  try {
    rest = decodeURIComponent(rest);
  } catch {
    // Left as written: libsql would not decode it either.
  }
  return nodeBuiltin('path').resolve(rest);
}

/** True when the file at `path` exists (without opening, and so creating, it). */
export function fileExists(path: string): boolean {
  return nodeBuiltin('fs').existsSync(path);
}
