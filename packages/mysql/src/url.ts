/**
 * `mysql://` / `mariadb://` URLs → store options, without I/O and without the driver (the
 * descriptor imports this file). `ttlSeconds` and `tablePrefix` are read from the query and
 * removed; every other parameter (`ssl`, `charset`, ...) stays in the URL for the driver.
 *
 *   optionsFromUrl('mysql://app:pw@db/app?tablePrefix=chat_&ttlSeconds=86400')
 *   // → { url: 'mysql://app:pw@db/app', tablePrefix: 'chat_', ttlSeconds: 86400 }
 *
 * mysql2 reads only `mysql:` URLs, so a `mariadb:` URL is handed on as `mysql:`.
 */
import { storeOptionsFromUrl } from '@sessions/core';

export function optionsFromUrl(url: string): Record<string, unknown> {
  const options = storeOptionsFromUrl(url, { label: 'url', text: ['tablePrefix'] });
  if (typeof options.url === 'string') options.url = options.url.replace(/^mariadb:/i, 'mysql:');
  return options;
}
