/**
 * What a backend tells the rest of the project about itself (the unstorage pattern: one
 * descriptor per driver, every table built from them). A backend exports it from its
 * `@sessions/<name>/descriptor` entry, which imports no driver, so reading every descriptor is cheap.
 */
export interface BackendDescriptor {
  /** Short name, as in `sessions copy` output and test names: `redis`. */
  readonly name: string;
  /** The npm package: `@sessions/redis`. */
  readonly packageName: string;
  /** The store class the package exports: `RedisSessionStore`. */
  readonly storeExport: string;
  /** The driver package users install beside it (a peer dependency): `redis`. */
  readonly driver: string;
  /** URL schemes, lower case, without `:` or `//`: `['redis', 'rediss']`. */
  readonly schemes: readonly string[];
  /** True when this backend takes `url` (for schemes that are not enough, e.g. SQLite's `:memory:`). */
  matches?(url: string): boolean;
  /**
   * Store options for `url` (without I/O or a driver import): the backend's `url.ts`. Query
   * parameters the backend understands (`ttlSeconds` and its namespace options) are read and
   * removed; the rest stay in the URL for the driver.
   */
  optionsFromUrl(url: string): Record<string, unknown>;
  /** How the tests get a live server for this backend. */
  readonly testServer: BackendTestServer;
}

export interface BackendTestServer {
  /** The environment variable that names an existing server (`REDIS_URL`); it wins over everything. */
  readonly env: string;
  /**
   * The server `@sessions/test-services` starts when the variable is unset: a container image
   * and a native starter of the same name, or `none` for a backend that needs no server (a file).
   */
  readonly service: string;
  /**
   * A store URL on the running test server `serverUrl` (undefined for `service: 'none'`) whose
   * namespace (key prefix, table, database) is `run` and nothing else, so that concurrent runs
   * and other tests never see each other's sessions.
   */
  storeUrl(serverUrl: string | undefined, run: string): string;
}

/** True when `url` uses one of `descriptor`'s schemes (or its own `matches`). */
export function backendMatches(descriptor: BackendDescriptor, url: string): boolean {
  if (descriptor.matches) return descriptor.matches(url);
  const colon = url.indexOf(':');
  return colon > 0 && descriptor.schemes.includes(url.slice(0, colon).toLowerCase());
}
