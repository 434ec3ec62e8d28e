/**
 * `mongodb://` and `mongodb+srv://` URLs → store options, with no I/O and no driver import (the
 * CLI reads every backend's descriptor). `ttlSeconds`, `database` and `collectionPrefix` are
 * ours and removed; every other query parameter stays in the URL for the driver.
 */
import { decodeUrlPart, registerSecret, registerUrlSecrets, storeOptionsFromUrl } from '@sessions/core';

export function optionsFromUrl(url: string): Record<string, unknown> {
  const options = storeOptionsFromUrl(url, { label: 'A MongoDB URL', text: ['database', 'collectionPrefix'] });
  registerMongoUrlSecrets(url);
  return options;
}

/**
 * Registers the credentials a MongoDB URL carries, so that they are masked wherever they are
 * printed: core's reading of the URL (password, secret parameters) plus an AWS session token in
 * `authMechanismProperties`, which no generic pattern knows.
 */
export function registerMongoUrlSecrets(url: string): void {
  registerUrlSecrets(url);
  const properties = /[?&]authMechanismProperties=([^&#]*)/i.exec(url)?.[1];
  if (properties) registerAuthProperties(decodeUrlPart(properties));
}

/** `AWS_SESSION_TOKEN:…` within `authMechanismProperties` (a URL's `key:value,…` or the option's object). */
export function registerAuthProperties(properties: unknown): void {
  if (typeof properties === 'string') {
    for (const pair of properties.split(',')) {
      const colon = pair.indexOf(':');
      if (colon !== -1 && pair.slice(0, colon) === 'AWS_SESSION_TOKEN') registerSecret(pair.slice(colon + 1));
    }
  } else if (properties !== null && typeof properties === 'object') {
    registerSecret((properties as { AWS_SESSION_TOKEN?: unknown }).AWS_SESSION_TOKEN);
  }
}
