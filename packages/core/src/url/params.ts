import { registerUrlSecrets } from '../errors/redact.js';
import { SessionValidationError } from '../errors/session-errors.js';

/**
 * Splits off the query parameters named in `names`, keeping every other part of the URL byte
 * for byte (no re-encoding, and `file:relative.db` stays relative, which `new URL` would not).
 * The parameters left in `rest` are the driver's.
 */
export function takeUrlParams(url: string, names: readonly string[]): { rest: string; params: Map<string, string> } {
  const hash = url.indexOf('#');
  const fragment = hash === -1 ? '' : url.slice(hash);
  const beforeHash = hash === -1 ? url : url.slice(0, hash);
  const question = beforeHash.indexOf('?');
  if (question === -1) return { rest: url, params: new Map() };
  const base = beforeHash.slice(0, question);
  const params = new Map<string, string>();
  const kept: string[] = [];
  for (const part of beforeHash.slice(question + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeUrlQuery(eq === -1 ? part : part.slice(0, eq));
    if (names.includes(key)) params.set(key, decodeUrlQuery(eq === -1 ? '' : part.slice(eq + 1)));
    else kept.push(part);
  }
  return { rest: `${base}${kept.length > 0 ? `?${kept.join('&')}` : ''}${fragment}`, params };
}

/** Percent-decoding of a URL part; `+` is literal here (AWS secret keys contain it). */
export function decodeUrlPart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Query values are form-encoded: `+` means a space. */
export function decodeUrlQuery(text: string): string {
  return decodeUrlPart(text.replace(/\+/g, ' '));
}

export function parseNumberParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) {
    throw new SessionValidationError(`${name} must be a number, got ${JSON.stringify(value)}`);
  }
  return number;
}

export function parseBooleanParam(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new SessionValidationError(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

/** Drops `undefined` values, so that options built from a URL carry only what it said. */
export function definedOptions(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value;
  return out;
}

/** `url` with `params` appended to its query (values percent-encoded), keeping everything else as it is. */
export function withUrlParams(url: string, params: Record<string, string>): string {
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? '' : url.slice(hash);
  const query = Object.entries(params)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
  if (query === '') return url;
  const separator = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${separator}${query}${fragment}`;
}

/** What a backend reads from the query of its URLs, besides `ttlSeconds`. */
export interface StoreUrlParams {
  /** Names the URL in the error for an empty one: `a Redis URL`. */
  label: string;
  /** Namespace parameters taken as text: `keyPrefix`, `schema`, `database`, … */
  text?: readonly string[];
  /** Parameters taken as `true`/`false` (`1`/`0`, `yes`/`no`). */
  flags?: readonly string[];
}

/**
 * The common part of every backend's `optionsFromUrl`: registers the URL's credentials, reads
 * and removes `ttlSeconds` and the backend's own parameters, and leaves every other parameter in
 * `url` for the driver. `{ url, ttlSeconds?, <text>?, <flags>? }`, without undefined values.
 */
export function storeOptionsFromUrl(url: string, spec: StoreUrlParams): Record<string, unknown> {
  if (typeof url !== 'string' || url.length === 0) {
    throw new SessionValidationError(`${spec.label} must be a non-empty string`);
  }
  registerUrlSecrets(url);
  const text = spec.text ?? [];
  const flags = spec.flags ?? [];
  const { rest, params } = takeUrlParams(url, ['ttlSeconds', ...text, ...flags]);
  const options: Record<string, unknown> = { url: rest };
  for (const name of text) options[name] = params.get(name);
  for (const name of flags) options[name] = parseBooleanParam(params.get(name), name);
  options.ttlSeconds = parseNumberParam(params.get('ttlSeconds'), 'ttlSeconds');
  return definedOptions(options);
}
