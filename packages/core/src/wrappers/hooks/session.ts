/** The session facade of `withHooks`: every session method run as an observed operation. */
import { SessionValidationError } from '../../errors/session-errors.js';
import type { Session } from '../../protocol/session.js';
import { type AnySession, buildFacade, hasMethod } from '../delegate.js';
import type { HookedSession, SessionOperation } from './index.js';
import { isArray } from './measure.js';
import type { Hooks } from './runner.js';

/** The id a session carries as a property (every session of this library does), through wrappers. */
function ownSessionId(session: object): string | undefined {
  let current = session as AnySession | undefined;
  for (let depth = 0; current && depth < 16; depth++) {
    if (typeof current.sessionId === 'string') return current.sessionId;
    current = typeof current.inner === 'object' ? current.inner : undefined;
  }
  return undefined;
}

export function hookSession<S extends Session>(
  session: S,
  hooks: Hooks,
  knownId: string | undefined,
): HookedSession<S> {
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
