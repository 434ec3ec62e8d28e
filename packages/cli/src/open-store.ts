/**
 * Opens any @sessions store from a URL. One table maps URL schemes to backends; each backend
 * package is imported only when its scheme is used, so unused drivers are never loaded.
 */
import {
  createInMemoryStorage,
  InMemorySessionStore,
  type InMemoryStorage,
  redactUrl,
  type SessionStore,
  SessionValidationError,
} from '@sessions/core';

/** Options merged over what the URL says (they win over its query parameters). */
export interface OpenSessionStoreOptions {
  /** Sliding expiry of every session, in seconds (also `?ttlSeconds=` in the URL). */
  ttlSeconds?: number;
  /** Anything else the backend's store constructor accepts, e.g. `{ clientOptions }`. */
  [option: string]: unknown;
}

type StoreConstructor = new (options: Record<string, unknown>) => SessionStore;

interface Backend {
  name: string;
  /** Does this backend handle `url`? */
  matches(url: string): boolean;
  /** Query parameters read (and removed) by the CLI: `ttlSeconds` plus the namespace options. */
  params: readonly string[];
  /** Package and export of the store class. */
  module: string;
  exportName: string;
  /** Store options from the URL with our parameters removed, and the parameters' values. */
  options(url: string, params: Map<string, string>): Record<string, unknown>;
}

const scheme = (...names: string[]) => {
  const pattern = new RegExp(`^(${names.join('|')}):`, 'i');
  return (url: string) => pattern.test(url);
};

/** Named in-memory storages (`memory:name`), shared by every store opened in this process. */
const memoryStorages = new Map<string, InMemoryStorage>();

/**
 * Every supported scheme, in one place:
 *
 * | URL                                                  | store                          | options read from the query        |
 * | ---------------------------------------------------- | ------------------------------ | ---------------------------------- |
 * | `memory:` / `memory:<name>`                          | InMemorySessionStore           | ttlSeconds                         |
 * | `file:…`, `:memory:`, `libsql://`, `http(s)://`, `ws(s)://` | SqliteSessionStore      | ttlSeconds, tablePrefix            |
 * | `redis://`, `rediss://`                              | RedisSessionStore              | ttlSeconds, keyPrefix              |
 * | `postgres://`, `postgresql://`                       | PostgresSessionStore           | ttlSeconds, schema, tablePrefix, prepare |
 * | `mongodb://`, `mongodb+srv://`                       | MongoSessionStore              | ttlSeconds, database, collectionPrefix |
 * | `dynamodb://[key:secret@][host[:port]]/<table>`      | DynamoDBSessionStore           | ttlSeconds, region, tls, createTable |
 */
const BACKENDS: readonly Backend[] = [
  {
    name: 'memory',
    matches: scheme('memory'),
    params: ['ttlSeconds'],
    module: '@sessions/core',
    exportName: 'InMemorySessionStore',
    options(url) {
      const name = url.slice('memory:'.length);
      if (name === '') return {};
      let storage = memoryStorages.get(name);
      if (!storage) {
        storage = createInMemoryStorage();
        memoryStorages.set(name, storage);
      }
      return { storage };
    },
  },
  {
    name: 'sqlite',
    matches: (url) => url === ':memory:' || scheme('file', 'libsql', 'https?', 'wss?')(url),
    params: ['ttlSeconds', 'tablePrefix'],
    module: '@sessions/sqlite',
    exportName: 'SqliteSessionStore',
    options: (url, params) => ({ url, tablePrefix: params.get('tablePrefix') }),
  },
  {
    name: 'redis',
    matches: scheme('rediss?'),
    params: ['ttlSeconds', 'keyPrefix'],
    module: '@sessions/redis',
    exportName: 'RedisSessionStore',
    options: (url, params) => ({ url, keyPrefix: params.get('keyPrefix') }),
  },
  {
    name: 'postgres',
    matches: scheme('postgres', 'postgresql'),
    params: ['ttlSeconds', 'schema', 'tablePrefix', 'prepare'],
    module: '@sessions/postgres',
    exportName: 'PostgresSessionStore',
    options: (url, params) => ({
      url,
      schema: params.get('schema'),
      tablePrefix: params.get('tablePrefix'),
      prepare: parseBoolean(params.get('prepare'), 'prepare'),
    }),
  },
  {
    name: 'mongodb',
    matches: scheme('mongodb', 'mongodb\\+srv'),
    params: ['ttlSeconds', 'database', 'collectionPrefix'],
    module: '@sessions/mongo',
    exportName: 'MongoSessionStore',
    options: (url, params) => ({
      url,
      database: params.get('database'),
      collectionPrefix: params.get('collectionPrefix'),
    }),
  },
  {
    name: 'dynamodb',
    matches: scheme('dynamodb'),
    params: ['ttlSeconds', 'region', 'tls', 'createTable'],
    module: '@sessions/dynamodb',
    exportName: 'DynamoDBSessionStore',
    options: dynamoOptions,
  },
];

/**
 * A store for `url` (see the table above). Query parameters `ttlSeconds` and the backend's
 * namespace options are read and removed before the URL reaches the driver; every other
 * parameter is left for the driver. `options` are merged last.
 *
 *   await using store = await openSessionStore('postgres://app:secret@db/app?schema=chat&ttlSeconds=86400');
 */
export async function openSessionStore(url: string, options: OpenSessionStoreOptions = {}): Promise<SessionStore> {
  const resolved = resolveStoreUrl(url, options);
  const Store = await loadStore(resolved);
  return new Store(resolved.options);
}

/** What `openSessionStore(url, options)` would construct, without loading anything. */
export interface ResolvedStoreUrl {
  backend: string;
  module: string;
  exportName: string;
  options: Record<string, unknown>;
}

export function resolveStoreUrl(url: string, options: OpenSessionStoreOptions = {}): ResolvedStoreUrl {
  if (typeof url !== 'string' || url.length === 0) {
    throw new SessionValidationError('openSessionStore expects a URL string');
  }
  const backend = BACKENDS.find((candidate) => candidate.matches(url));
  if (!backend) {
    throw new SessionValidationError(
      `Unsupported store URL ${JSON.stringify(redactUrl(url))}: use memory:, file:, :memory:, libsql://, http(s)://, redis(s)://, postgres(ql)://, mongodb(+srv):// or dynamodb://`,
    );
  }
  const { rest, params } = takeParams(url, backend.params);
  const ttl = params.get('ttlSeconds');
  const storeOptions: Record<string, unknown> = {
    ...backend.options(rest, params),
    ...(ttl === undefined ? {} : { ttlSeconds: parseNumber(ttl, 'ttlSeconds') }),
    ...options,
  };
  for (const key of Object.keys(storeOptions)) if (storeOptions[key] === undefined) delete storeOptions[key];
  return { backend: backend.name, module: backend.module, exportName: backend.exportName, options: storeOptions };
}

async function loadStore(backend: ResolvedStoreUrl): Promise<StoreConstructor> {
  if (backend.backend === 'memory') return InMemorySessionStore as unknown as StoreConstructor;
  let loaded: Record<string, unknown>;
  try {
    // A variable specifier: bundlers and vitest leave it alone, so a backend that is not
    // installed only fails when its scheme is used.
    const specifier = backend.module;
    loaded = await import(specifier);
  } catch (error) {
    throw new SessionValidationError(
      `The ${backend.backend} backend (${backend.module}) could not be loaded: ${(error as Error)?.message ?? String(error)}`,
    );
  }
  const Store =
    loaded[backend.exportName] ?? (loaded.default as Record<string, unknown> | undefined)?.[backend.exportName];
  if (typeof Store !== 'function') {
    throw new SessionValidationError(`${backend.module} does not export ${backend.exportName}`);
  }
  return Store as StoreConstructor;
}

/**
 * Splits off the query parameters named in `names`, keeping every other part of the URL byte
 * for byte (no re-encoding, and `file:relative.db` stays relative, which `new URL` would not).
 */
export function takeParams(url: string, names: readonly string[]): { rest: string; params: Map<string, string> } {
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
    const key = decodeQuery(eq === -1 ? part : part.slice(0, eq));
    if (names.includes(key)) params.set(key, decodeQuery(eq === -1 ? '' : part.slice(eq + 1)));
    else kept.push(part);
  }
  return { rest: `${base}${kept.length > 0 ? `?${kept.join('&')}` : ''}${fragment}`, params };
}

/** Percent-decoding of a URL part; `+` is literal here (AWS secret keys contain it). */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Query values are form-encoded: `+` means a space. */
function decodeQuery(text: string): string {
  return decode(text.replace(/\+/g, ' '));
}

function parseNumber(value: string, name: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) {
    throw new SessionValidationError(`${name} must be a number, got ${JSON.stringify(value)}`);
  }
  return number;
}

function parseBoolean(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new SessionValidationError(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

/**
 * `dynamodb://[accessKeyId:secretAccessKey@][host[:port]]/<table>?region=…[&tls=true][&createTable=false]`.
 * A host gives the endpoint `http://host:port` (`https` with `tls=true`): DynamoDB Local or
 * LocalStack. No host (`dynamodb:///table`) uses AWS's own endpoint for the region. Credentials
 * in the URL are used as static credentials; otherwise the AWS SDK's default chain applies
 * (environment, profile, instance role). The region defaults to `AWS_REGION`.
 */
function dynamoOptions(url: string, params: Map<string, string>): Record<string, unknown> {
  const match = /^dynamodb:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?/i.exec(url);
  if (!match) throw new SessionValidationError(`Cannot parse ${JSON.stringify(redactUrl(url))}`);
  const [, userInfo, host = '', path = '', query] = match;
  if (query) {
    throw new SessionValidationError(
      `Unknown dynamodb:// parameters ${JSON.stringify(query.replace(/=[^&]*/g, '=…'))}: only region, tls, createTable and ttlSeconds`,
    );
  }
  const tableName = decode(path);
  if (tableName.includes('/')) {
    throw new SessionValidationError('dynamodb:// URLs name one table: dynamodb://host:port/<table>');
  }
  const clientConfig: Record<string, unknown> = {};
  const region = params.get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region) clientConfig.region = region;
  if (host) {
    const tls = parseBoolean(params.get('tls'), 'tls') ?? false;
    clientConfig.endpoint = `${tls ? 'https' : 'http'}://${host}`;
  }
  if (userInfo) {
    const colon = userInfo.indexOf(':');
    clientConfig.credentials = {
      accessKeyId: decode(colon === -1 ? userInfo : userInfo.slice(0, colon)),
      secretAccessKey: decode(colon === -1 ? '' : userInfo.slice(colon + 1)),
    };
  }
  return {
    clientConfig,
    ...(tableName ? { tableName } : {}),
    createTable: parseBoolean(params.get('createTable'), 'createTable'),
  };
}
