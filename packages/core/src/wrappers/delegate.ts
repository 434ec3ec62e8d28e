import type { MetadataCapable, SessionCatalog } from '../protocol/catalog.js';
import type {
  CompactionCapable,
  HistoryMutationCapable,
  HistoryTransactionCapable,
  Session,
  SessionStore,
} from '../protocol/session.js';

/**
 * The optional capabilities a wrapper keeps from the session it wraps: a wrapper over a session
 * with `applyHistoryTransaction` has it too, a wrapper over a plain `Session` does not.
 */
export type WrappedSession<S extends Session> = Session &
  (S extends HistoryTransactionCapable ? HistoryTransactionCapable : unknown) &
  (S extends CompactionCapable ? CompactionCapable : unknown) &
  (S extends HistoryMutationCapable ? HistoryMutationCapable : unknown) &
  (S extends MetadataCapable ? MetadataCapable : unknown) &
  (S extends { readonly acceptsRunContext: true } ? { readonly acceptsRunContext: true } : unknown);

/** Every method a wrapper may expose; `rest` carries the SDK's run context when the inner takes it. */
export interface SessionMethods {
  getSessionId(...rest: unknown[]): Promise<string>;
  getItems(limit?: number, ...rest: unknown[]): Promise<unknown[]>;
  addItems(items: unknown[], ...rest: unknown[]): Promise<void>;
  popItem(...rest: unknown[]): Promise<unknown>;
  clearSession(...rest: unknown[]): Promise<void>;
  applyHistoryTransaction?(args: unknown, ...rest: unknown[]): Promise<void>;
  replaceHistoryWithCompaction?(items: unknown[], ...rest: unknown[]): Promise<void>;
  applyHistoryMutations?(args: unknown, ...rest: unknown[]): Promise<void>;
}

const OPTIONAL_METHODS = ['applyHistoryTransaction', 'replaceHistoryWithCompaction', 'applyHistoryMutations'] as const;
// Metadata is the inner session's, unchanged by any wrapper (it is not history: never windowed or sealed).
const PASSED_THROUGH = ['getMetadata', 'updateMetadata'] as const;
const CATALOG_METHODS = ['listSessions', 'sessions', 'getSessionInfo', 'deleteSession'] as const;

/** Loose view of a session: the methods it may have, as functions of any arguments. */
// biome-ignore lint/suspicious/noExplicitAny: inner sessions are called with forwarded arguments.
export type AnySession = Record<string, any>;

export function hasMethod(session: unknown, name: string): boolean {
  return typeof (session as AnySession | null)?.[name] === 'function';
}

/**
 * Builds the public face of a wrapper: the five protocol methods, plus each optional capability
 * only when the inner session has it (the SDK detects capabilities by their presence, and the
 * contract suite checks that an absent one is really absent), plus `acceptsRunContext`.
 */
export function buildFacade<S extends Session, Extra extends object>(
  inner: S,
  methods: SessionMethods,
  extra: Extra,
): WrappedSession<S> & Extra {
  const facade: AnySession = {
    getSessionId: methods.getSessionId,
    getItems: methods.getItems,
    addItems: methods.addItems,
    popItem: methods.popItem,
    clearSession: methods.clearSession,
  };
  for (const name of OPTIONAL_METHODS) {
    const method = methods[name];
    if (method && hasMethod(inner, name)) facade[name] = method;
  }
  for (const name of PASSED_THROUGH) {
    if (hasMethod(inner, name)) facade[name] = (...args: unknown[]) => (inner as AnySession)[name](...args);
  }
  if ((inner as AnySession).acceptsRunContext === true) facade.acceptsRunContext = true;
  for (const [key, value] of Object.entries(Object.getOwnPropertyDescriptors(extra))) {
    Object.defineProperty(facade, key, value);
  }
  return facade as WrappedSession<S> & Extra;
}

/** The store a wrapper returns: the wrapped sessions, and the inner store's catalog when it has one. */
export type WrappedStore<Inner, W extends Session> = SessionStore<W> & {
  readonly inner: Inner;
} & (Inner extends SessionCatalog ? SessionCatalog : unknown);

/**
 * A store whose sessions are `wrap(store.session(id))`; closing it closes `store`. The catalog
 * (list, info, delete) is the inner store's: it holds counts, dates and metadata, never items.
 *
 *   const store = wrapSessionStore(new RedisSessionStore({ url }), (s) => withEncryption(s, { keys }));
 */
export function wrapSessionStore<S extends Session, W extends Session, Inner extends SessionStore<S> = SessionStore<S>>(
  store: Inner & SessionStore<S>,
  wrap: (session: S) => W,
): WrappedStore<Inner, W> {
  const facade: AnySession = {
    inner: store,
    session: (sessionId: string) => wrap(store.session(sessionId)),
    close: () => store.close(),
    [Symbol.asyncDispose]: () => store.close(),
  };
  for (const name of CATALOG_METHODS) {
    if (hasMethod(store, name)) facade[name] = (...args: unknown[]) => (store as AnySession)[name](...args);
  }
  return facade as WrappedStore<Inner, W>;
}

/** Duck-typed so that two copies of this package still recognise each other's errors. */
export function isConflict(error: unknown, reason?: string): boolean {
  const e = error as { code?: unknown; reason?: unknown } | null;
  return e?.code === 'CONFLICT' && (reason === undefined || e.reason === reason);
}
