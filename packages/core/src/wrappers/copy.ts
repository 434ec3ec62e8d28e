/**
 * Copy (and migrate) histories between sessions of any two backends, or through wrappers (copy
 * from a plain store into an encrypted one to turn encryption on).
 *
 * Paging: the session protocol only reads "the newest N items", so the oldest items cannot be read
 * page by page (a backwards walk with growing limits would re-read everything and would not be a
 * consistent snapshot under concurrent writes). The source is therefore read with one `getItems()`
 * — one atomic snapshot — and the copy is paged on the write side: `pageSize` items per
 * `addItems`, each page atomic, with progress after each.
 *
 * Idempotence: the destination is read first. If it already holds a prefix of the source (an
 * earlier, interrupted run), only the missing tail is appended; if it already holds everything,
 * nothing is written. If it holds anything else, the copy fails with `SessionCopyConflictError`
 * unless `overwrite: true`, which swaps the old history for the first page atomically with
 * `replaceHistoryWithCompaction` when the destination has it (otherwise clears it), then appends
 * the rest.
 */

import { encodeItems } from '../encoding/items.js';
import { SessionCopyConflictError } from '../errors/copy-conflict-error.js';
import { SessionValidationError } from '../errors/session-errors.js';
import type { Session, SessionStore } from '../protocol/session.js';
import { type AnySession, hasMethod } from './delegate.js';
import { withoutHistoryWindow } from './history-window.js';

export interface CopyProgress {
  /** Id of the session being copied (the same id in both stores for `copySessions`). */
  sessionId: string;
  /** Items in the source. */
  total: number;
  /** Items the destination holds of them so far (`alreadyPresent` + written by this run). */
  done: number;
  /** Items that were already in the destination before this run. */
  alreadyPresent: number;
  /** `true` on the last report for this session. */
  finished: boolean;
}

export interface CopySessionOptions {
  /** Items per `addItems` call (default 100). */
  pageSize?: number;
  /** Replace a destination that holds something other than a prefix of the source. */
  overwrite?: boolean;
  /** Read the destination back at the end and compare it with the source (default true). */
  verify?: boolean;
  onProgress?: (progress: CopyProgress) => void;
  signal?: AbortSignal;
}

export interface CopyResult {
  sessionId: string;
  /** Items in the source. */
  total: number;
  /** Items written by this run. */
  copied: number;
  /** Items that were already in the destination. */
  alreadyPresent: number;
  /** Whether a diverging destination was replaced (`overwrite: true`). */
  overwritten: boolean;
}

const DEFAULT_PAGE_SIZE = 100;

/** Copies every item of `from` to `to`, in order, idempotently (see the module comment). */
export async function copySession(from: Session, to: Session, options: CopySessionOptions = {}): Promise<CopyResult> {
  const { pageSize, overwrite, verify, onProgress, signal } = checkOptions(options);
  const sessionId = await from.getSessionId();
  signal?.throwIfAborted();
  // Read through history windows: a window answers getItems() with a bounded suffix.
  const source = await withoutHistoryWindow(from).getItems();
  const sourceTexts = encodeItems(source, 'source');
  signal?.throwIfAborted();
  const destTexts = encodeItems(await withoutHistoryWindow(to).getItems(), 'destination');
  let prefix = 0;
  while (prefix < destTexts.length && prefix < sourceTexts.length && destTexts[prefix] === sourceTexts[prefix])
    prefix++;

  const total = source.length;
  let overwritten = false;
  let start = destTexts.length;
  if (prefix < destTexts.length) {
    if (!overwrite) throw new SessionCopyConflictError(sessionId, destTexts.length, prefix, total);
    overwritten = true;
    if (hasMethod(to, 'replaceHistoryWithCompaction')) {
      // One atomic swap (readers never see old and new mixed), then the rest in pages.
      start = Math.min(total, pageSize);
      await (to as AnySession).replaceHistoryWithCompaction(source.slice(0, start));
    } else {
      await to.clearSession();
      start = 0;
    }
  }
  const alreadyPresent = overwritten ? 0 : start;
  const report = (done: number, finished: boolean) =>
    onProgress?.({ sessionId, total, done, alreadyPresent, finished });
  report(start, false);
  for (let offset = start; offset < total; offset += pageSize) {
    // A backend that answers synchronously (a local SQLite file) never lets the event loop run
    // between pages, and an abort from a signal handler would only arrive after the last page.
    if (signal) await nextMacrotask();
    signal?.throwIfAborted();
    await to.addItems(source.slice(offset, offset + pageSize));
    // The last page is reported once, as finished, after the verification below.
    if (offset + pageSize < total) report(offset + pageSize, false);
  }
  if (verify) {
    const after = encodeItems(await withoutHistoryWindow(to).getItems(), 'destination');
    let same = after.length === sourceTexts.length;
    for (let i = 0; same && i < after.length; i++) same = after[i] === sourceTexts[i];
    if (!same) {
      let match = 0;
      while (match < after.length && match < sourceTexts.length && after[match] === sourceTexts[match]) match++;
      throw new SessionCopyConflictError(sessionId, after.length, match, total, ' changed during the copy and');
    }
  }
  // Labels travel with the history (merged into the destination's), when both sides keep them.
  if (hasMethod(from, 'getMetadata') && hasMethod(to, 'updateMetadata')) {
    const metadata = await (from as AnySession).getMetadata();
    if (Object.keys(metadata).length > 0) await (to as AnySession).updateMetadata(metadata);
  }
  report(total, true);
  return { sessionId, total, copied: total - alreadyPresent, alreadyPresent, overwritten };
}

export interface CopySessionsOptions extends CopySessionOptions {
  /** Sessions copied at the same time (default 4). */
  concurrency?: number;
  /** Stop starting new sessions after the first failure (default false: copy the rest, report all). */
  stopOnError?: boolean;
}

export interface CopySessionsResult {
  copied: CopyResult[];
  failed: { sessionId: string; error: unknown }[];
}

/**
 * Copies the sessions `ids` from one store to another (same id on both sides), `concurrency` at a
 * time. Ids may be an array, any iterable or an async iterable (streamed, e.g. from a file);
 * a repeated id is copied once. A session that fails is reported in `failed` and the others go on
 * (unless `stopOnError`); re-running copies only what is missing.
 */
export async function copySessions(
  fromStore: Pick<SessionStore, 'session'>,
  toStore: Pick<SessionStore, 'session'>,
  ids: Iterable<string> | AsyncIterable<string>,
  options: CopySessionsOptions = {},
): Promise<CopySessionsResult> {
  checkOptions(options);
  const { concurrency = 4, stopOnError = false, signal } = options;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new SessionValidationError(`concurrency must be a positive integer, got ${String(concurrency)}`);
  }
  const iterator = toAsyncIterator(ids);
  const seen = new Set<string>();
  const result: CopySessionsResult = { copied: [], failed: [] };
  let stopped = false;

  async function next(): Promise<string | undefined> {
    for (;;) {
      if (stopped) return undefined;
      const step = await iterator.next();
      if (step.done) return undefined;
      if (typeof step.value !== 'string') throw new SessionValidationError('session ids must be strings');
      if (!seen.has(step.value)) {
        seen.add(step.value);
        return step.value;
      }
    }
  }

  // Pulls from the iterator are chained so that concurrent workers never call next() at once.
  let pulling: Promise<unknown> = Promise.resolve();
  const pull = () => {
    const p = pulling.then(next);
    pulling = p.catch(() => undefined);
    return p;
  };

  async function worker(): Promise<void> {
    for (let id = await pull(); id !== undefined; id = await pull()) {
      signal?.throwIfAborted();
      try {
        result.copied.push(await copySession(fromStore.session(id), toStore.session(id), options));
      } catch (error) {
        if (signal?.aborted) throw error;
        result.failed.push({ sessionId: id, error });
        if (stopOnError) stopped = true;
      }
    }
  }

  try {
    // Let every worker finish its page before reporting an abort: pages are atomic, and the
    // caller may close the stores as soon as this returns.
    const settled = await Promise.allSettled(Array.from({ length: concurrency }, worker));
    const failure = settled.find((result) => result.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  } finally {
    stopped = true;
    await iterator.return?.();
  }
  return result;
}

function checkOptions(options: CopySessionOptions) {
  if (options === null || typeof options !== 'object') throw new SessionValidationError('options must be an object');
  const { pageSize = DEFAULT_PAGE_SIZE, overwrite = false, verify = true, onProgress, signal } = options;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new SessionValidationError(`pageSize must be a positive integer, got ${String(pageSize)}`);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new SessionValidationError('onProgress must be a function');
  }
  return { pageSize, overwrite: overwrite === true, verify: verify !== false, onProgress, signal };
}

function nextMacrotask(): Promise<void> {
  const schedule: (callback: () => void) => unknown =
    typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate : (callback) => setTimeout(callback, 0);
  return new Promise((resolve) => schedule(resolve));
}

function toAsyncIterator<T>(values: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> {
  if (values && typeof (values as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
    return (values as AsyncIterable<T>)[Symbol.asyncIterator]();
  }
  if (values && typeof (values as Iterable<T>)[Symbol.iterator] === 'function') {
    const sync = (values as Iterable<T>)[Symbol.iterator]();
    return {
      next: async () => sync.next(),
      return: async () => sync.return?.() ?? { done: true, value: undefined },
    };
  }
  throw new SessionValidationError('ids must be an iterable or async iterable of session ids');
}
