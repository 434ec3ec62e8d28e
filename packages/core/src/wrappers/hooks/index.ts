/**
 * Middleware at the session layer: transform or refuse items before they are stored, transform
 * them after they are read, and observe every operation (logging, metrics, tracing). No dependency:
 * `@sessions/opentelemetry` is built on this.
 */
import { SessionValidationError } from '../../errors/session-errors.js';
import type { Session, SessionStore } from '../../protocol/session.js';
import { hasMethod, type WrappedSession, type WrappedStore } from '../delegate.js';
import { Hooks } from './runner.js';
import { hookSession } from './session.js';
import { hookStore } from './store.js';

export { describeSessionTarget, type SessionTargetDescription } from './describe.js';

/** Every call `withHooks` reports: the session protocol, its capabilities, metadata and the catalog. */
export type SessionOperation =
  | 'getSessionId'
  | 'getItems'
  | 'addItems'
  | 'popItem'
  | 'clearSession'
  | 'applyHistoryTransaction'
  | 'replaceHistoryWithCompaction'
  | 'applyHistoryMutations'
  | 'getMetadata'
  | 'updateMetadata'
  | 'listSessions'
  | 'getSessionInfo'
  | 'deleteSession'
  | 'setup';

/** What is known about an operation when it starts. */
export interface SessionOperationStart {
  operation: SessionOperation;
  /** Undefined for store-wide operations (`listSessions`, `setup`) and for a session whose id is not known yet. */
  sessionId: string | undefined;
  /** `redis`, `postgres`, `mongodb`, `dynamodb`, `sqlite`, `memory`, the `backend` option, or `unknown`. */
  backend: string;
  /** The database host, when the store tells it without credentials (or the `serverAddress` option). */
  serverAddress?: string;
  /** The database port, when given explicitly. */
  serverPort?: number;
}

/** One finished operation, for `onOperation`. */
export interface SessionOperationEvent extends SessionOperationStart {
  /** Wall time of the operation, hooks `beforeWrite` and `afterRead` included. */
  durationMs: number;
  /** Whether the operation stores items (`write`), returns them (`read`), or neither (`undefined`). */
  direction: 'read' | 'write' | undefined;
  /**
   * Items written (after `beforeWrite`; for a transaction, its replacement) or read (as the store
   * returned them, before `afterRead`); 0 for operations that move no items.
   */
  itemCount: number;
  /** UTF-8 bytes of those items as JSON (0 when they cannot be encoded). */
  bytes: number;
  outcome: 'ok' | 'error';
  /** What the call threw (the same object the caller gets). */
  error?: unknown;
}

/** Which items a `beforeWrite` call sees. */
export type WritePart = 'items' | 'replacement' | 'expectedSuffix' | 'mutation';

export interface HookContext {
  operation: SessionOperation;
  sessionId: string | undefined;
  backend: string;
  /**
   * `items` (addItems, compaction, append_items, and every read), `replacement` and `expectedSuffix`
   * of a `replace_suffix` transaction, `mutation` (the replacements of `applyHistoryMutations`).
   */
  part: WritePart;
}

type MaybePromise<T> = T | Promise<T>;
/** What a transforming hook returns: items, or nothing (a validator that only throws) to keep them. */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing must type-check.
type ItemsOrNothing = unknown[] | undefined | void;

export interface SessionHooks {
  /**
   * Runs before validation and I/O on every item that is about to be stored. Return the items to
   * store (a new array; do not change the caller's objects), or nothing to keep them; throw to
   * refuse the call, which then writes nothing.
   *
   * It also runs on the expected suffix of a `replace_suffix` transaction (`part: 'expectedSuffix'`),
   * so that the suffix is compared with what was stored. So it must be deterministic and
   * idempotent (a redaction is: redacting twice changes nothing), as a retried transaction must
   * produce the same items under the same operation id.
   */
  beforeWrite?(items: unknown[], context: HookContext): MaybePromise<ItemsOrNothing>;
  /** Runs on the items `getItems` returns and on the item `popItem` returns (as a one-item array). */
  afterRead?(items: unknown[], context: HookContext): MaybePromise<ItemsOrNothing>;
  /** Called after every operation, failed ones too. What it throws (or rejects with) is ignored. */
  onOperation?(event: SessionOperationEvent): void | Promise<void>;
  /**
   * Runs around every operation, for tracing: call `proceed()` once to perform the operation
   * (for example inside a tracing context) and await it; it resolves to the operation's event
   * and never rejects (the caller still gets the operation's result or error). If the hook throws,
   * or returns without calling `proceed`, the operation runs anyway.
   */
  aroundOperation?(start: SessionOperationStart, proceed: () => Promise<SessionOperationEvent>): Promise<void>;
  /** The backend name to report, when the store's class does not tell it. */
  backend?: string;
  /** The server to report (host and port, never credentials), when the store does not tell it. */
  serverAddress?: string;
  serverPort?: number;
}

/** A session with hooks: the same capabilities as the session it wraps. */
export type HookedSession<S extends Session = Session> = WrappedSession<S> & { readonly inner: S };

type SessionOf<T> = T extends SessionStore<infer S> ? S : Session;

/** A store whose sessions have hooks; its catalog (when it has one) and `setup()` are observed too. */
export type HookedStore<T extends SessionStore<Session>> = WrappedStore<T, HookedSession<SessionOf<T>>> &
  (T extends { setup(): Promise<void> } ? { setup(): Promise<void> } : unknown);

/**
 * Hooks around every operation of a store (each session it hands out, its catalog and `setup()`)
 * or of one session. Capabilities are kept exactly as by the other wrappers.
 *
 *   const store = withHooks(new RedisSessionStore({ url }), {
 *     beforeWrite: (items) => items.map(redactEmails),
 *     onOperation: (e) => log.debug(`${e.operation} ${e.outcome} in ${e.durationMs} ms`),
 *   });
 */
export function withHooks<T extends SessionStore<Session>>(store: T, hooks: SessionHooks): HookedStore<T>;
export function withHooks<S extends Session>(session: S, hooks: SessionHooks): HookedSession<S>;
export function withHooks(target: object, hooks: SessionHooks): unknown {
  if (hooks === null || typeof hooks !== 'object') {
    throw new SessionValidationError('withHooks expects an object of hooks as its second argument');
  }
  for (const name of ['beforeWrite', 'afterRead', 'onOperation', 'aroundOperation'] as const) {
    if (hooks[name] !== undefined && typeof hooks[name] !== 'function') {
      throw new SessionValidationError(`withHooks: ${name} must be a function`);
    }
  }
  if (target !== null && typeof target === 'object') {
    if (hasMethod(target, 'getItems')) return hookSession(target as Session, new Hooks(hooks, target), undefined);
    if (hasMethod(target, 'session')) return hookStore(target as SessionStore, new Hooks(hooks, target));
  }
  throw new SessionValidationError('withHooks expects a session or a session store as its first argument');
}
