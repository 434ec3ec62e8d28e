import type { Client } from '@libsql/client';
import { isOwned } from './busy-retry.js';

/**
 * How long after core's deadline the driver-level ends below fire: core's `SessionTimeoutError`
 * (which says whether a write may have applied) reaches the caller first, not the abort it causes.
 */
export const AFTER_DEADLINE_MS = 50;

/**
 * The `fetch` of the HTTP clients a store opens (`http:`, `https:`, `libsql:`): every request
 * carries an abort signal that fires just after `timeoutMs`, so that a request core's deadline
 * gave up on really ends and frees its socket (and its slot in the client's concurrency limit).
 */
export function fetchWithTimeout(timeoutMs: number): (request: Request) => Promise<Response> {
  return (request) => {
    const timeout = AbortSignal.timeout(timeoutMs + AFTER_DEADLINE_MS);
    // hrana sets no signal of its own; should a request carry one, both count (Node 20.3+).
    const signal =
      request.signal && typeof AbortSignal.any === 'function' ? AbortSignal.any([request.signal, timeout]) : timeout;
    return globalThis.fetch(request, { signal });
  };
}

/**
 * A call on a WebSocket connection that {@link watchRemote} dropped because a call on it stalled
 * (hrana ends the connection's calls with a bare `ClientError`). errors.ts maps it onto
 * `SessionConnectionError`: the call may succeed on the fresh connection.
 */
export class ConnectionDropped extends Error {
  constructor(cause: unknown) {
    super('the WebSocket connection stopped answering and was closed', { cause });
    this.name = 'ConnectionDropped';
  }
}

/**
 * True when `error` is an end put to this call by another operation's deadline: an aborted HTTP
 * request ({@link fetchWithTimeout}), or the client's WebSocket connection dropped since `since`
 * ({@link watchRemote}). Another operation waiting on the same call (the shared schema check) may
 * then try again on its own time.
 */
export function isAbandoned(client: Client, since: number, error: unknown): boolean {
  if (droppedSince(client, since)) return true;
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { name } = e as { name?: unknown };
    if (name === 'TimeoutError' || name === 'AbortError') return true;
  }
  return false;
}

/** When each WebSocket client's connection was last dropped (ms since the epoch). */
const lastDropped = new WeakMap<Client, number>();

function droppedSince(client: Client, since: number): boolean {
  return (lastDropped.get(client) ?? Number.NEGATIVE_INFINITY) >= since;
}

/**
 * `@libsql/client` over WebSocket has no timeout of its own: a call on a connection that stopped
 * answering (or never finished its handshake) waits forever and keeps its place in the client's
 * queue. When `call` has not settled after `timeoutMs` (core has already rejected it by then), the
 * connection of a WebSocket client the store opened itself is dropped: its calls end, its socket
 * closes, and the next call opens a fresh connection (once per `timeoutMs` however many calls
 * stalled together). A caller's client is never touched.
 */
export function watchRemote<T>(client: Client, timeoutMs: number, call: Promise<T>): Promise<T> {
  if (client.protocol !== 'ws' || !isOwned(client)) return call;
  const started = Date.now();
  const timer = setTimeout(() => dropConnection(client, timeoutMs), timeoutMs + AFTER_DEADLINE_MS);
  timer.unref?.();
  return call
    .catch((error: unknown) => {
      // hrana ends the calls of a closed connection with a bare ClientError.
      const ended = (error as { cause?: { name?: unknown } } | null)?.cause?.name === 'ClientError';
      throw ended && droppedSince(client, started) ? new ConnectionDropped(error) : error;
    })
    .finally(() => clearTimeout(timer));
}

/**
 * Closes the WebSocket client's connection (and one it was opening) but not the client: `close()`
 * then clearing `closed`, which is what `reconnect()` does too, minus opening a new connection
 * at once (which would hang as well while the server is unreachable, and which `close()` would
 * not end). The client reconnects by itself on its next call. Should a later `@libsql/client`
 * refuse that, `reconnect()` is the fallback.
 */
function dropConnection(client: Client, timeoutMs: number): void {
  const now = Date.now();
  // Closed: the store was closed meanwhile. Dropped lately: by another call that stalled with
  // this one; the connection opened since then may be a good one.
  if (client.closed || now - (lastDropped.get(client) ?? Number.NEGATIVE_INFINITY) < timeoutMs) return;
  lastDropped.set(client, now);
  client.close();
  try {
    (client as { closed: boolean }).closed = false;
  } catch {
    // (Typed `void`, but asynchronous for WebSocket clients.)
    Promise.resolve()
      .then(() => client.reconnect())
      .catch(() => {});
  }
}
