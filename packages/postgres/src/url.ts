/**
 * `postgres://` / `postgresql://` URLs → store options, without I/O and without the driver (the
 * descriptor imports this file). `ttlSeconds`, `schema`, `tablePrefix` and `prepare` are read
 * from the query and removed; every other parameter (`sslmode`, `application_name`, ...) stays
 * in the URL for the driver.
 *
 *   optionsFromUrl('postgres://app:pw@db/app?schema=chat&ttlSeconds=86400')
 *   // → { url: 'postgres://app:pw@db/app', schema: 'chat', ttlSeconds: 86400 }
 */
import { storeOptionsFromUrl } from '@sessions/core';

export function optionsFromUrl(url: string): Record<string, unknown> {
  return storeOptionsFromUrl(url, { label: 'url', text: ['schema', 'tablePrefix'], flags: ['prepare'] });
}
