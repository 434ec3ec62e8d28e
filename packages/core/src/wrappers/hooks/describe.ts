/** What a store or session tells about its backend and server, without credentials. */
import { KNOWN_BACKENDS } from '../../open/known-backends.generated.js';
import type { AnySession } from '../delegate.js';

/** What a store or session tells about its backend, without credentials. */
export interface SessionTargetDescription {
  backend: string;
  serverAddress?: string;
  serverPort?: number;
}

const CLASS_NAME = /^([A-Za-z][A-Za-z0-9]*?)Session(?:Store)?$/;

/**
 * The backend of a store or session, from its class name (`RedisSessionStore` → `redis`, through
 * wrappers' `inner`), and its server, from the credential-free `url` its `toJSON()` shows (host and
 * explicit port only). What it cannot tell is left out (the backend is then `unknown`).
 */
export function describeSessionTarget(target: unknown): SessionTargetDescription {
  let backend: string | undefined;
  let server: { address: string; port?: number } | undefined;
  let current = target as AnySession | undefined;
  for (let depth = 0; current && typeof current === 'object' && depth < 16; depth++) {
    if (backend === undefined) backend = backendOfClass(current);
    if (server === undefined) server = serverOf(current);
    if (backend !== undefined && server !== undefined) break;
    current = current.inner;
  }
  const description: SessionTargetDescription = { backend: backend ?? 'unknown' };
  if (server) {
    description.serverAddress = server.address;
    if (server.port !== undefined) description.serverPort = server.port;
  }
  return description;
}

function backendOfClass(value: object): string | undefined {
  let name: unknown;
  try {
    name = value.constructor?.name;
  } catch {
    return undefined;
  }
  const match = typeof name === 'string' ? CLASS_NAME.exec(name) : null;
  if (!match) return undefined;
  const stem = match[1]!.toLowerCase();
  if (stem === 'inmemory') return 'memory';
  return KNOWN_BACKENDS.find((known) => known.packageName === `@sessions/${stem}`)?.name ?? stem;
}

const LOCAL_SCHEMES = new Set(['file:', 'memory:']);

function serverOf(value: AnySession): { address: string; port?: number } | undefined {
  let url: unknown;
  try {
    if (typeof value.toJSON !== 'function') return undefined;
    url = value.toJSON()?.url; // `describe()`: masked, credential-free by contract
  } catch {
    return undefined;
  }
  if (typeof url !== 'string') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (LOCAL_SCHEMES.has(parsed.protocol) || parsed.hostname === '') return undefined;
  const address = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return parsed.port === '' ? { address } : { address, port: Number(parsed.port) };
}
