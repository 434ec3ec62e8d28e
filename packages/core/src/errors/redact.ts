/**
 * The one masking function for everything this library prints: error messages, the causes kept
 * under them, `util.inspect` of stores, and what the CLI and examples print. Masking too much is
 * safe, too little is not, so every rule errs on the side of hiding.
 */

const MASK = '***';

// A URL's user-info runs from `scheme://` to the LAST `@` before the next URL or line break:
// passwords may contain `@`, `:`, `/`, `#`, spaces and tabs, and a caller may not have
// percent-encoded them. Text between a password and a later `@` on the line is masked too.
const SCHEME = /[a-z][a-z0-9+.-]*:\/\//gi;

// `key=value` in query strings and connection strings (`?password=…`, `authToken=…`, `sslkey=…`).
const SECRET_PARAMS =
  /\b([\w.-]*(?:password|passwd|pwd|pass|secret|token|auth|api_?key|access_?key|credential|sslkey)[\w.-]*)=('[^']*'|"[^"]*"|[^&\s;,]+)/gi;

// `key: 'value'` / `"key":"value"`: object literals as `util.inspect` and `JSON.stringify` print them.
const SECRET_PROPERTIES =
  /(["']?)\b(pass|password|passwd|pwd|secret\w*|\w*token|api_?key|access_?key|credentials?|authorization)\1(\s*:\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/gi;

// HTTP authorization headers and bare bearer/basic credentials.
const AUTHORIZATION = /\b((?:proxy-)?authorization\s*[:=]\s*)(?!["'`]?\*\*\*)([^\r\n"'`,}]+)/gi;
const BEARER = /\b(Bearer|Basic|Token)\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{6,}/g;

const MAX_KNOWN_SECRETS = 256;
const knownSecrets = new Set<string>();

/**
 * Remembers a credential this process was given (a password parsed from a URL, an auth token), so
 * that it is masked wherever it appears, even in a form no pattern recognises. Stores call it with
 * what they parse; values shorter than 4 characters are not remembered (they would mask ordinary
 * words) and are left to the patterns.
 */
export function registerSecret(secret: unknown): void {
  if (typeof secret !== 'string' || secret.length < 4) return;
  for (const form of new Set([secret, safeEncode(secret), secret.replace(/ /g, '+')])) {
    if (knownSecrets.has(form)) continue;
    if (knownSecrets.size >= MAX_KNOWN_SECRETS) knownSecrets.delete(knownSecrets.values().next().value as string);
    knownSecrets.add(form);
  }
}

/**
 * Registers every credential a connection URL carries, so that it is masked wherever it turns
 * up: the password of the user-info and the values of secret-looking query parameters, each as
 * written, percent-decoded, and without the tabs and line breaks URL parsers drop. Both readings
 * of the user-info are taken: the standard one (it ends at the first `/`, `?` or `#`) and the
 * lenient one (it ends at the last `@` of the line), since a caller may not have percent-encoded
 * a password that holds those characters. A user name alone is not registered (registering
 * `default` would mask that word everywhere); the URL patterns still mask it inside URLs.
 * Stores call it with every URL they are given; it never throws.
 */
export function registerUrlSecrets(url: unknown): void {
  if (typeof url !== 'string') return;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  const line = url.slice(scheme ? scheme[0].length : 0).split(/[\r\n]/, 1)[0]!;
  if (scheme) {
    const authority = line.split(/[/?#]/, 1)[0]!;
    for (const part of [authority, line]) {
      const userInfo = part.slice(0, Math.max(0, part.lastIndexOf('@')));
      const colon = userInfo.indexOf(':');
      if (colon !== -1) registerForms(userInfo.slice(colon + 1));
    }
  }
  for (const match of url.matchAll(SECRET_PARAMS)) {
    const value = match[2]!.replace(/^['"]|['"]$/g, '');
    registerForms(value);
    registerSecret(safeDecode(value.replace(/\+/g, ' ')));
  }
}

function registerForms(secret: string): void {
  for (const form of [secret, safeDecode(secret)]) {
    registerSecret(form);
    registerSecret(form.replace(/[\t\r\n]/g, ''));
  }
}

/** Masks credentials in `text`: URL user-info, secret parameters and properties, authorization headers. */
export function redactSecrets(text: string): string {
  let out = maskUserInfo(String(text));
  out = out
    .replace(SECRET_PARAMS, (_m, key: string) => `${key}=${MASK}`)
    .replace(
      SECRET_PROPERTIES,
      (_m, quote: string, key: string, colon: string, value: string) =>
        `${quote}${key}${quote}${colon}${value[0]}${MASK}${value[0]}`,
    )
    .replace(AUTHORIZATION, (_m, key: string) => `${key}${MASK}`)
    .replace(BEARER, (_m, scheme: string) => `${scheme} ${MASK}`);
  if (knownSecrets.size > 0) {
    // Longest first, so a secret that contains another is masked whole.
    for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
    }
  }
  return out;
}

/** A URL fit for logs and error messages: only its credentials change. */
export function redactUrl(url: string | URL): string {
  return redactSecrets(String(url));
}

function maskUserInfo(text: string): string {
  const starts = [...text.matchAll(SCHEME)].map((m) => ({ at: m.index, end: m.index + m[0].length }));
  if (starts.length === 0) return text;
  let out = '';
  let pos = 0;
  for (let k = 0; k < starts.length; k++) {
    const { at, end } = starts[k]!;
    if (at < pos) continue;
    const next = k + 1 < starts.length ? starts[k + 1]!.at : text.length;
    const lineEnd = text.slice(end, next).search(/[\r\n]/);
    const segment = text.slice(end, lineEnd === -1 ? next : end + lineEnd);
    const lastAt = segment.lastIndexOf('@');
    if (lastAt <= 0) continue;
    out += `${text.slice(pos, end)}${MASK}`;
    pos = end + lastAt;
  }
  return out + text.slice(pos);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function safeEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text;
  }
}
