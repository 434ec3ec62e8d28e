/**
 * `startStudio`: a local HTTP server (node:http) that serves the studio's page and its JSON API.
 *
 * Safety: listens on 127.0.0.1 unless told otherwise; every request needs the random token — in
 * the URL's `?token=` on first load (answered with an HttpOnly, SameSite=Strict cookie and a
 * redirect that drops the token from the address bar), then the cookie, or an
 * `Authorization: Bearer <token>` header for scripts. The page gets a Content-Security-Policy
 * without inline script, eval or HTML sinks (Trusted Types), and never the store's credentials.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type MetadataFilter,
  openSessionStore,
  redactSecrets,
  redactUrl,
  SessionConflictError,
  SessionError,
  type SessionStore,
  SessionValidationError,
} from '@sessions/core';
import { ApiError, type CatalogStore, StudioApi } from './api.js';
import { PAGE_HTML, SCRIPT, STYLE } from './assets.js';
import type { StoreView } from './shared/api.js';

export interface StudioOptions {
  /** The store to show. Either this or `url`. */
  store?: SessionStore;
  /**
   * A store URL for `openSessionStore` (opened read-only unless `allowWrites`, and closed with the
   * studio). With `store`, only its label: shown with credentials masked.
   */
  url?: string;
  /** Default 0: a free port chosen by the system. */
  port?: number;
  /** Default `127.0.0.1`. Anything else exposes your conversations to that network (the token still applies). */
  host?: string;
  /** Edit metadata, fork, pop, clear, delete and export. Default `false`: read-only. */
  allowWrites?: boolean;
  /** The access token (at least 16 URL-safe characters); default: 32 random characters. */
  token?: string;
}

export interface Studio {
  /** `http://127.0.0.1:<port>/?token=<token>`: open it in a browser. */
  url: string;
  host: string;
  port: number;
  token: string;
  /** Stops the server (and closes the store if the studio opened it from `url`). */
  close(): Promise<void>;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // Images of items: only data: and https: URLs the page validated; never javascript: or http:.
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  // No string ever becomes HTML or script: innerHTML and friends throw.
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
} as const;

const MAX_BODY_BYTES = 1024 * 1024;

export async function startStudio(options: StudioOptions): Promise<Studio> {
  const { store: given, url, allowWrites = false } = options;
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(24).toString('base64url');
  if (!/^[A-Za-z0-9._~-]{16,}$/.test(token)) {
    throw new SessionValidationError('token must be at least 16 URL-safe characters (A-Z a-z 0-9 . _ ~ -)');
  }
  if (!given && !url) throw new SessionValidationError('startStudio needs { store } or { url }');
  const port = options.port ?? 0;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new SessionValidationError(`port must be an integer from 0 to 65535, got ${port}`);
  }
  // Read-only: a mistyped URL must not create a database, schema or file.
  const store = given ?? (await openSessionStore(url!, allowWrites ? {} : { createIfMissing: false }));
  const owned = !given;
  try {
    if (typeof (store as Partial<CatalogStore>).listSessions !== 'function') {
      throw new SessionValidationError('this store has no session catalog (listSessions), which the studio needs');
    }
    const view: StoreView = {
      label: url ? redactUrl(url) : `${store.constructor?.name ?? 'store'} (in this process)`,
      allowWrites,
    };
    const api = new StudioApi(store as CatalogStore);
    const server = createServer();
    const expected = digest(token);
    let cookieName = 'sessions_studio';
    server.on('request', (request, response) => {
      handle(request, response).catch((error) => sendError(response, error));
    });

    async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
      const requestUrl = new URL(request.url ?? '/', 'http://studio.invalid');
      const queryToken = requestUrl.searchParams.get('token');
      if (queryToken !== null && request.method === 'GET' && matches(queryToken, expected)) {
        // Cookies are shared by every port of a host: the port in the name keeps two studios apart.
        response.setHeader('Set-Cookie', `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`);
        requestUrl.searchParams.delete('token');
        response.writeHead(303, { Location: `${requestUrl.pathname}${requestUrl.search}` }).end();
        return;
      }
      if (!authorised(request, cookieName, expected)) {
        send(
          response,
          401,
          'text/plain; charset=utf-8',
          'Unauthorized: open the URL the studio printed (with ?token=…)\n',
        );
        return;
      }
      const path = requestUrl.pathname;
      const query = requestUrl.searchParams;
      if (request.method === 'GET') {
        if (path === '/') return send(response, 200, 'text/html; charset=utf-8', PAGE_HTML);
        if (path === '/app.js') return send(response, 200, 'text/javascript; charset=utf-8', SCRIPT);
        if (path === '/app.css') return send(response, 200, 'text/css; charset=utf-8', STYLE);
        if (path === '/api/store') return json(response, view);
        if (path === '/api/sessions') {
          return json(
            response,
            await api.list({
              prefix: query.get('prefix') || undefined,
              metadata: parseMetadataFilter(query.getAll('metadata')),
              cursor: query.get('cursor') || undefined,
              limit: optionalInteger(query.get('limit'), 'limit'),
            }),
          );
        }
        if (path === '/api/session') return json(response, await api.session(requiredId(query)));
        if (path === '/api/items') {
          return json(
            response,
            await api.items(requiredId(query), {
              start: optionalInteger(query.get('start'), 'start'),
              end: optionalInteger(query.get('end'), 'end'),
            }),
          );
        }
        if (path === '/api/item') {
          const index = optionalInteger(query.get('index'), 'index') ?? -1;
          return json(response, await api.item(requiredId(query), index));
        }
        if (path === '/api/export') {
          requireWrites();
          const id = requiredId(query);
          const line = await api.exportLine(id);
          const filename = `${id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100) || 'session'}.jsonl`;
          response.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
          return send(response, 200, 'application/x-ndjson; charset=utf-8', line);
        }
      }
      if (request.method === 'POST' && path.startsWith('/api/')) {
        requireWrites();
        // A JSON body cannot come from a plain cross-site form (it needs a CORS preflight).
        if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
          throw new ApiError(415, 'send Content-Type: application/json');
        }
        const body = await readJson(request);
        const id = requiredId(new URLSearchParams({ id: typeof body.id === 'string' ? body.id : '' }));
        if (path === '/api/metadata') return json(response, { metadata: await api.updateMetadata(id, body.patch) });
        if (path === '/api/fork') return json(response, await api.fork(id, body.turn));
        if (path === '/api/pop') return json(response, await api.pop(id));
        if (path === '/api/clear') return json(response, (await api.clear(id)) ?? { ok: true });
        if (path === '/api/delete') return json(response, (await api.delete(id)) ?? { ok: true });
      }
      throw new ApiError(404, `no route ${request.method} ${path}`);
    }

    function requireWrites(): void {
      if (!allowWrites) throw new ApiError(403, 'the studio is read-only: start it with --allow-writes');
    }

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = (server.address() as AddressInfo).port;
    cookieName = `sessions_studio_${bound}`;
    return {
      url: `http://${displayHost(host)}:${bound}/?token=${token}`,
      host,
      port: bound,
      token,
      close: async () => {
        await closeServer(server);
        if (owned) await store.close();
      },
    };
  } catch (error) {
    if (owned) await store.close().catch(() => undefined);
    throw error;
  }
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time comparison (of digests, so that lengths do not leak either). */
function matches(candidate: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(candidate), expected);
}

function authorised(request: IncomingMessage, cookieName: string, expected: Buffer): boolean {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (bearer !== undefined && matches(bearer, expected)) return true;
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === cookieName && matches(part.slice(at + 1).trim(), expected)) return true;
  }
  return false;
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }).end(body);
}

function json(response: ServerResponse, value: unknown): void {
  send(response, 200, 'application/json; charset=utf-8', JSON.stringify(value));
}

function sendError(response: ServerResponse, error: unknown): void {
  const status =
    error instanceof ApiError
      ? error.status
      : error instanceof SessionValidationError
        ? 400
        : error instanceof SessionConflictError
          ? 409
          : 500;
  // Our errors are masked when built; anything else (a driver's message) is masked here.
  const message =
    error instanceof SessionError || error instanceof ApiError
      ? error.message
      : redactSecrets(error instanceof Error ? error.message || error.name : String(error));
  if (response.headersSent) {
    response.destroy();
    return;
  }
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
  send(response, status, 'application/json; charset=utf-8', JSON.stringify({ error: message }));
}

function requiredId(query: URLSearchParams): string {
  const id = query.get('id');
  if (!id) throw new ApiError(400, 'missing session id');
  return id;
}

function optionalInteger(value: string | null, name: string): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new ApiError(400, `${name} must be a non-negative integer`);
  }
  return Number(value);
}

/** `key=value` pairs as the CLI reads them: `true`/`false`/numbers are JSON values, the rest text. */
export function parseMetadataFilter(pairs: readonly string[]): MetadataFilter | undefined {
  const filter: MetadataFilter = {};
  for (const pair of pairs) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    if (at <= 0) throw new ApiError(400, `metadata filter expects key=value, got ${JSON.stringify(pair)}`);
    const raw = pair.slice(at + 1);
    filter[pair.slice(0, at).trim()] =
      raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  return Object.keys(filter).length > 0 ? filter : undefined;
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'request body over 1 MB');
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'the request body is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(400, 'expected a JSON object');
  return body as Record<string, unknown>;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections of an open browser tab would hold close() forever.
    server.closeAllConnections();
  });
}
