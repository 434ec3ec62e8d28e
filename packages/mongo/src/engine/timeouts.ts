/**
 * The driver timeouts of a client the store creates, derived from `timeoutMs`. Core's deadline
 * stays the outer bound; these make the driver end what it waits for by itself:
 * - `serverSelectionTimeoutMS` and `connectTimeoutMS`: 80 % of `timeoutMs`, so that a server that
 *   refuses connections (or cannot be resolved) is reported as such, with its root cause
 *   (`connect ECONNREFUSED …`), before the deadline would hide it behind a timeout;
 * - `socketTimeoutMS`: `timeoutMs`, so that no connection stays blocked on an answer longer.
 * mongodb 7.9 ignores the client-side operation timeout `timeoutMS` (deprecated, "has no
 * effect"), so it is not set; each call's abort signal (call.ts) plays that role.
 * A timeout the user set, in `clientOptions` or in the URL's query string, is kept as it is.
 */
export const DERIVED_TIMEOUT_KEYS = ['serverSelectionTimeoutMS', 'connectTimeoutMS', 'socketTimeoutMS'] as const;
export type DerivedTimeouts = Partial<Record<(typeof DERIVED_TIMEOUT_KEYS)[number], number>>;

/** The share of `timeoutMs` the driver may spend finding a server or opening a connection. */
export const SELECTION_SHARE = 0.8;

export function driverTimeouts(timeoutMs: number, url: string, clientOptions: object | undefined): DerivedTimeouts {
  const early = Math.max(1, Math.floor(timeoutMs * SELECTION_SHARE));
  const derived: Required<DerivedTimeouts> = {
    serverSelectionTimeoutMS: early,
    connectTimeoutMS: early,
    socketTimeoutMS: timeoutMs,
  };
  // The driver reads option names case-insensitively, in the URL and in the options object.
  const given = new Set([...urlOptionNames(url), ...Object.keys(clientOptions ?? {})].map((key) => key.toLowerCase()));
  const out: DerivedTimeouts = {};
  for (const key of DERIVED_TIMEOUT_KEYS) if (!given.has(key.toLowerCase())) out[key] = derived[key];
  return out;
}

/** The option names in a connection string's query (`?a=1&b=2`), decoded; no I/O, no driver. */
export function urlOptionNames(url: string): string[] {
  const query = /\?([^#]*)/.exec(url)?.[1];
  if (!query) return [];
  return query
    .split('&')
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const name = pair.split('=', 1)[0]!;
      try {
        return decodeURIComponent(name);
      } catch {
        return name;
      }
    });
}
