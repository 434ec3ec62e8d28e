/**
 * `postgres://` / `postgresql://` URLs → store options, without I/O and without the driver (the
 * descriptor imports this file). `ttlSeconds`, `schema`, `tablePrefix` and `prepare` are read
 * from the query and removed; every other parameter (`sslmode`, `application_name`, ...) stays
 * in the URL for the driver.
 *
 *   optionsFromUrl('postgres://app:pw@db/app?schema=chat&ttlSeconds=86400')
 *   // → { url: 'postgres://app:pw@db/app', schema: 'chat', ttlSeconds: 86400 }
 */
import {
  definedOptions,
  parseBooleanParam,
  parseNumberParam,
  registerUrlSecrets,
  SessionValidationError,
  takeUrlParams,
} from '@sessions/core';

/** The query parameters this package reads (and removes) from a URL. */
export const URL_PARAMS = ['ttlSeconds', 'schema', 'tablePrefix', 'prepare'] as const;

export function optionsFromUrl(url: string): Record<string, unknown> {
  if (typeof url !== 'string' || url === '') {
    throw new SessionValidationError('url must be a non-empty connection string');
  }
  registerUrlSecrets(url);
  const { rest, params } = takeUrlParams(url, URL_PARAMS);
  return definedOptions({
    url: rest,
    schema: params.get('schema'),
    tablePrefix: params.get('tablePrefix'),
    prepare: parseBooleanParam(params.get('prepare'), 'prepare'),
    ttlSeconds: parseNumberParam(params.get('ttlSeconds'), 'ttlSeconds'),
  });
}
