// Credentials reach error messages through connection URLs (`redis://user:secret@host`) and
// key=value connection strings. Both are masked before a message is ever built. User-info
// runs to the LAST `@` of the URL (passwords may contain `@`, `/` or `#`): masking too much
// is safe, too little is not.
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\s]*@/gi;
const SECRET_PARAMS =
  /\b([\w.-]*(?:password|passwd|pwd|secret|token|auth|api_?key|access_?key|credential)[\w.-]*)=('[^']*'|"[^"]*"|[^&\s;,]+)/gi;

/** Masks the user-info part of every URL and every secret-looking `key=value` in `text`. */
export function redactSecrets(text: string): string {
  return text
    .replace(URL_USERINFO, (_m, scheme: string) => `${scheme}***@`)
    .replace(SECRET_PARAMS, (_m, key: string) => `${key}=***`);
}

/** A URL fit for logs and error messages. */
export function redactUrl(url: string | URL): string {
  return redactSecrets(String(url));
}
