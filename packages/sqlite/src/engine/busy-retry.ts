import type { Client } from '@libsql/client';
import { pace } from './pace.js';

/** First back-off delay; it doubles up to {@link BUSY_MAX_DELAY_MS}, with jitter. */
const BUSY_BASE_DELAY_MS = 5;
const BUSY_MAX_DELAY_MS = 50;

const BUSY_CODE = /^SQLITE_(BUSY|LOCKED)(_|$)/;

/**
 * True when the database refused the work because another connection held a lock. SQLite
 * rolls the whole transaction back in that case (a batch that fails at COMMIT is rolled back
 * by the client before the connection is reused), so trying again cannot write twice.
 */
export function isBusyError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, extendedCode } = e as { code?: unknown; extendedCode?: unknown };
    if (typeof code === 'string' && BUSY_CODE.test(code)) return true;
    if (typeof extendedCode === 'string' && BUSY_CODE.test(extendedCode)) return true;
  }
  return false;
}

/** When an operation gives up: `at` (ms since the epoch), from the operation's `timeoutMs`. */
export interface Deadline {
  at: number;
  timeoutMs: number;
}

/**
 * The deadline of an operation starting now. It falls a little before core's own (which starts
 * a moment later and always fires too), so that a lock still held at the end is reported by
 * {@link LockWaitExpired}, which knows that nothing was written, rather than by core's timer.
 */
export function deadlineIn(timeoutMs: number): Deadline {
  return { at: Date.now() + timeoutMs - Math.min(25, Math.floor(timeoutMs / 10)), timeoutMs };
}

/**
 * Another connection held the lock until the operation's deadline. Every attempt was rolled back
 * (that is what SQLITE_BUSY means), so nothing was written; errors.ts maps this onto
 * `SessionTimeoutError` with `mayHaveApplied: false` and the last busy error as `cause`.
 */
export class LockWaitExpired extends Error {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, cause: unknown) {
    super(`the database stayed locked by another connection for ${timeoutMs} ms`, { cause });
    this.name = 'LockWaitExpired';
    this.timeoutMs = timeoutMs;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` against `client`, and runs it again while it fails with SQLITE_BUSY /
 * SQLITE_LOCKED, waiting a jittered, doubling delay in between with `setTimeout`, until the
 * operation's `deadline`; then {@link LockWaitExpired} is thrown: the write is reported as not
 * done, never silently lost, and no attempt starts after the deadline. All waiting for a lock
 * happens here, asynchronously: the files a store opens have a busy timeout of 0, so SQLite never
 * waits inside a (synchronous, event-loop-blocking) local call. Before every local attempt,
 * {@link pace} lets the event loop turn if local calls have kept it for too long.
 *
 * On a local file a BUSY also poisons the connection that saw it (libsql leaves the failed
 * statement in progress, so every later COMMIT on that connection fails until the statement is
 * garbage-collected; see tursodatabase/libsql-client-ts#352). For a client the library opened
 * itself ({@link markOwned}) the connections are replaced before the next attempt. A client the
 * caller passed in is never reconnected or closed (that would also end the caller's own open
 * transactions on it): its busy errors are only retried, with the same back-off and deadline.
 *
 * Other errors leave as the driver threw them (or as a plain `Error`): the caller's error mapping
 * (errors.ts) names the public operation they failed.
 */
export async function retryBusy<T>(client: Client, work: () => Promise<T>, deadline: Deadline): Promise<T> {
  const local = client.protocol === 'file';
  for (let attempt = 0; ; attempt++) {
    if (local) {
      const turn = pace();
      if (turn) await turn;
    }
    try {
      return await work();
    } catch (error) {
      // A reconnect (ours, below, from a concurrent operation; or the caller's own) can close a
      // connection that this operation had borrowed but not used yet: nothing ran, so retry.
      const reopened = (error as { code?: unknown } | null)?.code === 'CLIENT_CLOSED' && !client.closed;
      if (!(reopened || isBusyError(error))) throw error;
      if (!reopened) await replaceConnections(client);
      const cap = Math.min(BUSY_MAX_DELAY_MS, BUSY_BASE_DELAY_MS * 2 ** attempt);
      const left = deadline.at - Date.now();
      if (left <= 0) throw new LockWaitExpired(deadline.timeoutMs, error);
      await sleep(Math.min(left, cap / 2 + Math.random() * (cap / 2)));
      if (Date.now() >= deadline.at) throw new LockWaitExpired(deadline.timeoutMs, error);
    }
  }
}

/**
 * Clients the library opened itself (a store built from a `url`), and so may reconnect or close.
 * Every other client belongs to the caller and is never touched beyond running statements.
 */
const ownedClients = new WeakSet<Client>();

/** Records that the library opened `client` itself (see {@link retryBusy}). */
export function markOwned(client: Client): void {
  ownedClients.add(client);
}

export function isOwned(client: Client): boolean {
  return ownedClients.has(client);
}

const replacing = new WeakMap<Client, Promise<void>>();

/**
 * Replaces the connections of a local file client the library opened itself
 * (`client.reconnect()`), once at a time per client. Never for a client the caller passed in,
 * never for a database that lives in its one connection (`:memory:`, a temporary database:
 * SQLite reports an empty file name for those), never for a client closed meanwhile. The file
 * is checked before and after, so a client that would reopen on another database cannot
 * silently move there: it is closed instead.
 */
async function replaceConnections(client: Client): Promise<void> {
  if (client.protocol !== 'file' || !isOwned(client)) return;
  let pending = replacing.get(client);
  if (!pending) {
    pending = (async () => {
      // Unknown (the probe failed) counts as "do not reopen"; the next attempt probes again.
      const before = await mainFile(client).catch(() => '');
      // Closed meanwhile (the store was closed): reconnecting would bring it back to life.
      if (!before || client.closed) return;
      await client.reconnect();
      const after = await mainFile(client);
      if (after !== before) {
        client.close();
        throw new Error('reopening the libSQL client after SQLITE_BUSY reached another file; the client was closed');
      }
    })().finally(() => replacing.delete(client));
    replacing.set(client, pending);
  }
  try {
    await pending;
  } catch (error) {
    // The fresh connection's probe met the lock too (WAL recovery, a checkpoint): the next
    // attempt sees it again and comes back here. Anything else (another file) is thrown.
    if (!isBusyError(error)) throw error;
  }
}

async function mainFile(client: Client): Promise<string> {
  const result = await client.execute('PRAGMA database_list');
  const main = result.rows.find((row) => row.name === 'main');
  return typeof main?.file === 'string' ? main.file : '';
}
