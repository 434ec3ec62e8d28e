import { storeOptionsFromUrl } from '@sessions/core';

/**
 * Store options for `redis[s]://[[user][:password]@]host[:port][/db][?ttlSeconds=…&keyPrefix=…]`:
 * `{ url, ttlSeconds?, keyPrefix? }`, the URL without those two parameters. No I/O; the password
 * is registered so that it is masked wherever it would be printed.
 */
export function optionsFromUrl(url: string): Record<string, unknown> {
  return storeOptionsFromUrl(url, { label: 'a Redis URL', text: ['keyPrefix'] });
}
