// The chat API on node:http, with no framework, over one shared session store.
//   POST   /sessions/:id/messages  {"message": "..."}  -> 200 {"reply": "..."}
//   GET    /sessions/:id/messages?limit=N             -> 200 {"items": [...]}  (newest N, oldest first)
//   GET    /sessions?limit=N&cursor=C&metadata.k=v    -> 200 {"sessions": [...], "nextCursor"?: "..."}
//   GET    /sessions/:id                              -> 200 {sessionId, itemCount, metadata, ...} | 404
//   PATCH  /sessions/:id  {"metadata": {"k": v}}      -> 200 {"metadata": {...}}  (null removes a key)
//   DELETE /sessions/:id                               -> 204  (items and metadata)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { type Agent, run } from '@openai/agents';
import {
  type MetadataCapable,
  redactSecrets,
  type SessionCatalog,
  SessionConnectionError,
  SessionItemTooLargeError,
  SessionSerializationError,
  type SessionStore,
  SessionValidationError,
} from '@sessions/core';

const MAX_BODY_BYTES = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function createChatServer(store: SessionStore & SessionCatalog, agent: Agent): Server {
  const server = createServer(async (req, res) => {
    try {
      await route(req, res);
    } catch (error) {
      const [status, message] = toHttp(error);
      // Our errors are masked when built; a driver or SDK error is masked here before it is logged.
      if (status >= 500) console.error(`${req.method} ${req.url}: ${redactSecrets(inspect(error, { depth: 6 }))}`);
      send(res, status, { error: message }, error instanceof HttpError ? error.headers : {});
    }
  });

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/sessions') {
      if (req.method !== 'GET') throw new HttpError(405, 'method not allowed', { Allow: 'GET' });
      return send(res, 200, await store.listSessions(listOptions(url.searchParams)));
    }
    const match = /^\/sessions\/([^/]+)(\/messages)?$/.exec(url.pathname);
    if (!match) throw new HttpError(404, 'not found');
    // Any id the store accepts is fine; the store validates it (length, encoding) and we map that to 400.
    const sessionId = decodeURIComponent(match[1]!);
    const session = store.session(sessionId);

    if (match[2]) {
      if (req.method === 'POST') {
        const message = (await readJson(req, 'message')) as string;
        const result = await run(agent, message, { session });
        return send(res, 200, { reply: result.finalOutput ?? '' });
      }
      if (req.method === 'GET') {
        const raw = url.searchParams.get('limit');
        // No parsing rules of our own: a bad number (NaN, negative, 1.5) is the store's SessionValidationError.
        const limit = raw === null ? undefined : raw.trim() === '' ? Number.NaN : Number(raw);
        return send(res, 200, { items: await session.getItems(limit) });
      }
      throw new HttpError(405, 'method not allowed', { Allow: 'GET, POST' });
    }
    if (req.method === 'GET') {
      const info = await store.getSessionInfo(sessionId);
      if (!info) throw new HttpError(404, 'no such session');
      return send(res, 200, info);
    }
    if (req.method === 'PATCH') {
      const patch = await readJson(req, 'metadata');
      return send(res, 200, {
        metadata: await (session as typeof session & MetadataCapable).updateMetadata(patch as never),
      });
    }
    if (req.method === 'DELETE') {
      await store.deleteSession(sessionId);
      return send(res, 204);
    }
    throw new HttpError(405, 'method not allowed', { Allow: 'GET, PATCH, DELETE' });
  }

  function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    if (res.headersSent) return void res.destroy();
    // While shutting down, close keep-alive connections after this response: otherwise
    // server.close() would wait for each client's idle timeout before it could finish.
    if (!server.listening) res.setHeader('Connection', 'close');
    res.writeHead(status, body === undefined ? headers : { 'Content-Type': 'application/json', ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  return server;
}

/** `?limit=&cursor=&updatedAfter=&metadata.<key>=<value>`; the store validates every value (400 on a bad one). */
function listOptions(params: URLSearchParams) {
  const metadata: Record<string, string> = {};
  for (const [key, value] of params) if (key.startsWith('metadata.')) metadata[key.slice('metadata.'.length)] = value;
  const limit = params.get('limit');
  const cursor = params.get('cursor');
  const after = params.get('updatedAfter');
  return {
    ...(limit !== null && { limit: Number(limit) }),
    ...(cursor !== null && { cursor }),
    ...(after !== null && { updatedAfter: new Date(after) }),
    ...(Object.keys(metadata).length > 0 && { metadata }),
  };
}

/** The JSON body's `field`: a non-empty string for "message", an object for "metadata". */
async function readJson(req: IncomingMessage, field: 'message' | 'metadata'): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  const value = (body as Record<string, unknown> | null)?.[field];
  if (field === 'message' && (typeof value !== 'string' || value.trim() === '')) {
    throw new HttpError(400, 'body must be a JSON object with a non-empty string "message"');
  }
  if (field === 'metadata' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new HttpError(400, 'body must be a JSON object with an object "metadata"');
  }
  return value;
}

function toHttp(error: unknown): [status: number, message: string] {
  if (error instanceof HttpError) return [error.status, error.message];
  if (error instanceof URIError) return [400, 'malformed percent-encoding in the path'];
  if (error instanceof SessionValidationError || error instanceof SessionSerializationError) {
    return [400, error.message];
  }
  if (error instanceof SessionItemTooLargeError) return [413, error.message];
  // The database is down or unreachable: the client may retry later. Details go to the log only.
  if (error instanceof SessionConnectionError) return [503, 'session store unavailable'];
  return [500, 'internal error'];
}
