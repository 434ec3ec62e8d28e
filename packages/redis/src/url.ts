import {
  definedOptions,
  parseNumberParam,
  registerUrlSecrets,
  SessionValidationError,
  takeUrlParams,
} from '@sessions/core';

/** The query parameters this package reads and removes; every other one stays for node-redis. */
export const URL_PARAMS: readonly string[] = ['ttlSeconds', 'keyPrefix'];

/**
 * Store options for `redis[s]://[[user][:password]@]host[:port][/db][?ttlSeconds=…&keyPrefix=…]`:
 * `{ url, ttlSeconds?, keyPrefix? }`, the URL without those two parameters. No I/O; the password
 * is registered so that it is masked wherever it would be printed.
 */
export function optionsFromUrl(url: string): Record<string, unknown> {
  if (typeof url !== 'string' || url.length === 0) {
    throw new SessionValidationError('a Redis URL must be a non-empty string');
  }
  registerUrlSecrets(url);
  const { rest, params } = takeUrlParams(url, URL_PARAMS);
  return definedOptions({
    url: rest,
    keyPrefix: params.get('keyPrefix'),
    ttlSeconds: parseNumberParam(params.get('ttlSeconds'), 'ttlSeconds'),
  });
}
