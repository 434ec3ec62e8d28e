import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

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
  return pathToFileURL(resolve(path)).href;
}
