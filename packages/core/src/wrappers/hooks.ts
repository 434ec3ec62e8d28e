/**
 * Middleware at the session layer: transform or refuse items before they are stored, transform
 * them after they are read, and observe every operation (logging, metrics, tracing). No dependency:
 * `@sessions/opentelemetry` is built on this.
 */
import { utf8ByteLength } from '../encoding/items.js';
import { SessionValidationError } from '../errors/session-errors.js';
import { KNOWN_BACKENDS } from '../open/known-backends.generated.js';
import type { SessionCatalog, SessionFilter, SessionInfo } from '../protocol/catalog.js';
import type { Session, SessionStore } from '../protocol/session.js';
import { type AnySession, buildFacade, hasMethod, type WrappedSession, type WrappedStore } from './delegate.js';

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

/** The items one operation moved, filled in while it runs. */
interface Tally {
  items: readonly unknown[] | undefined;
}

const DIRECTION: Partial<Record<SessionOperation, 'read' | 'write'>> = {
  getItems: 'read',
  popItem: 'read',
  addItems: 'write',
  applyHistoryTransaction: 'write',
  replaceHistoryWithCompaction: 'write',
  applyHistoryMutations: 'write',
};

/** The hooks of one `withHooks` call, with what it found out about the target once. */
class Hooks {
  readonly observed: boolean;
  readonly backend: string;
  readonly serverAddress: string | undefined;
  readonly serverPort: number | undefined;

  constructor(
    readonly hooks: SessionHooks,
    target: object,
  ) {
    this.observed = hooks.onOperation !== undefined || hooks.aroundOperation !== undefined;
    const described = describeSessionTarget(target);
    this.backend = hooks.backend ?? described.backend;
    const address = hooks.serverAddress ?? described.serverAddress;
    this.serverAddress = address;
    this.serverPort = hooks.serverAddress !== undefined ? hooks.serverPort : described.serverPort;
  }

  async beforeWrite(items: unknown, operation: SessionOperation, sessionId: string | undefined, part: WritePart) {
    const hook = this.hooks.beforeWrite;
    if (!hook || !isArray(items)) return items; // not an array: the inner session refuses it
    return checked(await hook(items, { operation, sessionId, backend: this.backend, part }), items, 'beforeWrite');
  }

  async afterRead(items: unknown, operation: SessionOperation, sessionId: string | undefined) {
    const hook = this.hooks.afterRead;
    if (!hook || !isArray(items)) return items;
    return checked(
      await hook(items, { operation, sessionId, backend: this.backend, part: 'items' }),
      items,
      'afterRead',
    );
  }

  /** Runs `body` as one operation, reporting it to `aroundOperation` and `onOperation`. */
  async run<T>(operation: SessionOperation, sessionId: string | undefined, body: (tally: Tally) => Promise<T>) {
    const tally: Tally = { items: undefined };
    if (!this.observed) return body(tally);
    const start: SessionOperationStart = { operation, sessionId, backend: this.backend };
    if (this.serverAddress !== undefined) start.serverAddress = this.serverAddress;
    if (this.serverPort !== undefined) start.serverPort = this.serverPort;
    let result: T | undefined;
    let failed = false;
    let error: unknown;
    const perform = async (): Promise<SessionOperationEvent> => {
      const started = performance.now();
      try {
        result = await body(tally);
      } catch (thrown) {
        failed = true;
        error = thrown;
      }
      const event = finish(start, tally, performance.now() - started, failed, error);
      const onOperation = this.hooks.onOperation;
      if (onOperation) {
        // An observer must never change the outcome of the call it observes (nor delay a sync one by a tick).
        try {
          const returned = onOperation(event) as { then?: unknown } | undefined;
          if (typeof returned?.then === 'function') await Promise.resolve(returned).catch(() => {});
        } catch {}
      }
      return event;
    };
    const around = this.hooks.aroundOperation;
    if (around) {
      let performed: Promise<SessionOperationEvent> | undefined;
      const proceed = () => {
        performed ??= perform();
        return performed;
      };
      try {
        await around(start, proceed);
      } catch {
        // As for onOperation: a failing tracer must not fail the call.
      }
      await proceed();
    } else {
      await perform();
    }
    if (failed) throw error;
    return result as T;
  }
}

function finish(
  start: SessionOperationStart,
  tally: Tally,
  durationMs: number,
  failed: boolean,
  error: unknown,
): SessionOperationEvent {
  const items = tally.items;
  // Built field by field: a spread of `start` followed by more fields is ten times slower in V8.
  const event: SessionOperationEvent = {
    operation: start.operation,
    sessionId: start.sessionId,
    backend: start.backend,
    durationMs,
    direction: DIRECTION[start.operation],
    itemCount: items?.length ?? 0,
    bytes: items ? jsonBytes(items) : 0,
    outcome: failed ? 'error' : 'ok',
  };
  if (start.serverAddress !== undefined) event.serverAddress = start.serverAddress;
  if (start.serverPort !== undefined) event.serverPort = start.serverPort;
  if (failed) event.error = error;
  return event;
}

/** UTF-8 bytes of the items as JSON text; 0 for what JSON cannot encode (the call refused it anyway). */
function jsonBytes(items: readonly unknown[]): number {
  let bytes = 0;
  try {
    for (const item of items) {
      // The length of JSON.stringify is that of the canonical encoding (only the key order differs).
      const text = JSON.stringify(item);
      if (typeof text === 'string') bytes += utf8ByteLength(text);
    }
  } catch {
    return 0;
  }
  return bytes;
}

function isArray(value: unknown): value is unknown[] {
  try {
    return Array.isArray(value);
  } catch {
    return false; // a revoked Proxy: the inner session reports it
  }
}

function checked(returned: unknown, items: unknown[], hook: string): unknown[] {
  if (returned === undefined) return items;
  if (!isArray(returned)) {
    throw new SessionValidationError(`withHooks: ${hook} must return an array of items, or nothing`);
  }
  return returned;
}

/** The id a session carries as a property (every session of this library does), through wrappers. */
function ownSessionId(session: object): string | undefined {
  let current = session as AnySession | undefined;
  for (let depth = 0; current && depth < 16; depth++) {
    if (typeof current.sessionId === 'string') return current.sessionId;
    current = typeof current.inner === 'object' ? current.inner : undefined;
  }
  return undefined;
}

function hookSession<S extends Session>(session: S, hooks: Hooks, knownId: string | undefined): HookedSession<S> {
  const inner = session as AnySession;
  let sessionId = knownId ?? ownSessionId(session);

  async function getItems(limit?: number, ...rest: unknown[]) {
    return hooks.run('getItems', sessionId, async (tally) => {
      const items = await inner.getItems(limit, ...rest);
      if (isArray(items)) tally.items = items;
      return hooks.hooks.afterRead ? hooks.afterRead(items, 'getItems', sessionId) : items;
    });
  }

  async function popItem(...rest: unknown[]) {
    return hooks.run('popItem', sessionId, async (tally) => {
      const item = await inner.popItem(...rest);
      if (item === undefined) {
        tally.items = [];
        return undefined;
      }
      tally.items = [item];
      if (!hooks.hooks.afterRead) return item;
      const [read] = (await hooks.afterRead([item], 'popItem', sessionId)) as unknown[];
      return read;
    });
  }

  /** addItems and compaction: `beforeWrite` on the items, then the inner call. */
  function write(operation: SessionOperation, items: unknown, call: (items: unknown) => Promise<unknown>) {
    return hooks.run(operation, sessionId, async (tally) => {
      const written = hooks.hooks.beforeWrite ? await hooks.beforeWrite(items, operation, sessionId, 'items') : items;
      if (isArray(written)) tally.items = written;
      return call(written);
    });
  }

  const methods = {
    getSessionId: (...rest: unknown[]) =>
      hooks.run('getSessionId', sessionId, async () => {
        const id = await inner.getSessionId(...rest);
        if (typeof id === 'string') sessionId ??= id;
        return id;
      }),
    getItems,
    addItems: (items: unknown[], ...rest: unknown[]) =>
      write('addItems', items, (written) => inner.addItems(written, ...rest)),
    popItem,
    clearSession: (...rest: unknown[]) => hooks.run('clearSession', sessionId, async () => inner.clearSession(...rest)),
    applyHistoryTransaction: (args: unknown, ...rest: unknown[]) =>
      hooks.run('applyHistoryTransaction', sessionId, async (tally) => {
        const { args: written, items } = await transformTransaction(args, hooks, sessionId);
        tally.items = items;
        return inner.applyHistoryTransaction(written, ...rest);
      }),
    replaceHistoryWithCompaction: (items: unknown[], ...rest: unknown[]) =>
      write('replaceHistoryWithCompaction', items, (written) => inner.replaceHistoryWithCompaction(written, ...rest)),
    applyHistoryMutations: (args: unknown, ...rest: unknown[]) =>
      hooks.run('applyHistoryMutations', sessionId, async (tally) => {
        const { args: written, items } = await transformMutations(args, hooks, sessionId);
        tally.items = items;
        return inner.applyHistoryMutations(written, ...rest);
      }),
  };

  const extra: Record<string, unknown> = { inner: session };
  // Metadata passes through unchanged (it is not items), but its calls are operations too.
  if (hasMethod(session, 'getMetadata')) {
    extra.getMetadata = (...rest: unknown[]) =>
      hooks.run('getMetadata', sessionId, async () => inner.getMetadata(...rest));
  }
  if (hasMethod(session, 'updateMetadata')) {
    extra.updateMetadata = (...rest: unknown[]) =>
      hooks.run('updateMetadata', sessionId, async () => inner.updateMetadata(...rest));
  }
  return buildFacade(session, methods as never, extra) as unknown as HookedSession<S>;
}

/**
 * The transaction with `beforeWrite` applied to its items. Arguments whose reading throws or that
 * have another shape go to the inner session untouched: it refuses them with its own error.
 */
async function transformTransaction(
  args: unknown,
  hooks: Hooks,
  sessionId: string | undefined,
): Promise<{ args: unknown; items: unknown[] | undefined }> {
  const operation = 'applyHistoryTransaction';
  if (!hooks.hooks.beforeWrite) return { args, items: writtenItems(args) };
  let envelope: Record<string, unknown>;
  let transaction: Record<string, unknown>;
  try {
    const given = (args as { transaction?: unknown } | null)?.transaction as Record<string, unknown> | undefined;
    if (given === null || typeof given !== 'object') return { args, items: undefined };
    envelope = { ...(args as object) };
    transaction = { ...given };
  } catch {
    return { args, items: undefined };
  }
  if (transaction.type === 'append_items') {
    transaction.items = await hooks.beforeWrite(transaction.items, operation, sessionId, 'items');
    envelope.transaction = transaction;
    return { args: envelope, items: arrayOrUndefined(transaction.items) };
  }
  if (transaction.type === 'replace_suffix') {
    transaction.expectedSuffix = await hooks.beforeWrite(
      transaction.expectedSuffix,
      operation,
      sessionId,
      'expectedSuffix',
    );
    transaction.replacement = await hooks.beforeWrite(transaction.replacement, operation, sessionId, 'replacement');
    envelope.transaction = transaction;
    return { args: envelope, items: arrayOrUndefined(transaction.replacement) };
  }
  return { args, items: undefined };
}

/** The mutations with `beforeWrite` applied to their replacements (one item per mutation). */
async function transformMutations(
  args: unknown,
  hooks: Hooks,
  sessionId: string | undefined,
): Promise<{ args: unknown; items: unknown[] | undefined }> {
  let envelope: Record<string, unknown>;
  let mutations: Record<string, unknown>[];
  try {
    const given = (args as { mutations?: unknown } | null)?.mutations;
    if (!isArray(given) || !given.every((m) => m !== null && typeof m === 'object')) {
      return { args, items: undefined };
    }
    envelope = { ...(args as object) };
    mutations = given.map((m) => ({ ...(m as object) }) as Record<string, unknown>);
  } catch {
    return { args, items: undefined };
  }
  const replacements = mutations.map((m) => m.replacement);
  if (!hooks.hooks.beforeWrite) return { args, items: replacements };
  const written = (await hooks.beforeWrite(replacements, 'applyHistoryMutations', sessionId, 'mutation')) as unknown[];
  if (written.length !== mutations.length) {
    throw new SessionValidationError('withHooks: beforeWrite must return one item per mutation');
  }
  mutations.forEach((m, i) => {
    m.replacement = written[i];
  });
  envelope.mutations = mutations;
  return { args: envelope, items: written };
}

function arrayOrUndefined(value: unknown): unknown[] | undefined {
  return isArray(value) ? value : undefined;
}

/** The items a transaction writes, for the event (undefined when its arguments cannot be read). */
function writtenItems(args: unknown): unknown[] | undefined {
  try {
    const transaction = (args as { transaction?: Record<string, unknown> } | null)?.transaction;
    if (transaction?.type === 'append_items') return arrayOrUndefined(transaction.items);
    if (transaction?.type === 'replace_suffix') return arrayOrUndefined(transaction.replacement);
  } catch {}
  return undefined;
}

function hookStore<T extends SessionStore>(store: T, hooks: Hooks): HookedStore<T> {
  const inner = store as unknown as AnySession;
  const facade: AnySession = {
    inner: store,
    session: (sessionId: string) => hookSession(store.session(sessionId), hooks, sessionId),
    close: () => store.close(),
    [Symbol.asyncDispose]: () => store.close(),
  };
  const idOf = (value: unknown) => (typeof value === 'string' ? value : undefined);
  if (hasMethod(store, 'listSessions')) {
    facade.listSessions = (...args: unknown[]) =>
      hooks.run('listSessions', undefined, async () => inner.listSessions(...args));
  }
  if (hasMethod(store, 'sessions')) {
    // Page through the observed listSessions, so that every page is an operation of its own.
    facade.sessions = hasMethod(store, 'listSessions')
      ? async function* sessions(filter: SessionFilter & { pageSize?: number } = {}): AsyncGenerator<SessionInfo> {
          const { pageSize = 100, ...rest } = filter;
          let cursor: string | undefined;
          do {
            const page = await (facade as unknown as SessionCatalog).listSessions({
              ...rest,
              limit: pageSize,
              ...(cursor !== undefined && { cursor }),
            });
            yield* page.sessions;
            cursor = page.nextCursor;
          } while (cursor !== undefined);
        }
      : (...args: unknown[]) => inner.sessions(...args);
  }
  if (hasMethod(store, 'getSessionInfo')) {
    facade.getSessionInfo = (sessionId: unknown, ...rest: unknown[]) =>
      hooks.run('getSessionInfo', idOf(sessionId), async () => inner.getSessionInfo(sessionId, ...rest));
  }
  if (hasMethod(store, 'deleteSession')) {
    facade.deleteSession = (sessionId: unknown, ...rest: unknown[]) =>
      hooks.run('deleteSession', idOf(sessionId), async () => inner.deleteSession(sessionId, ...rest));
  }
  if (hasMethod(store, 'setup')) {
    facade.setup = (...args: unknown[]) => hooks.run('setup', undefined, async () => inner.setup(...args));
  }
  return facade as HookedStore<T>;
}

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
