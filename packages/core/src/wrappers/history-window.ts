/**
 * A bounded view of a long history for the SDK's runner, which always reads `getItems()` with no
 * limit: the last N items and/or the last N user turns, cut only where cutting is safe.
 */
import { validateLimit } from '../encoding/arguments.js';
import { SessionValidationError } from '../errors/index.js';
import type { AgentInputItem, Session } from '../protocol/session.js';
import { type AnySession, buildFacade, hasMethod, type WrappedSession } from './delegate.js';

export interface HistoryWindowOptions {
  /** At most this many items (a hard cap). */
  maxItems?: number;
  /** At most this many user turns: the window starts at the N-th newest user message. */
  maxTurns?: number;
}

/** Pairs tool outputs with their calls the way the SDK's runner does (by type and call id). */
const RESULT_TYPE_BY_CALL_TYPE: Record<string, string> = {
  function_call: 'function_call_result',
  computer_call: 'computer_call_result',
  shell_call: 'shell_call_output',
  apply_patch_call: 'apply_patch_call_output',
  program: 'program_output',
};
const RESULT_TYPES = new Set(Object.values(RESULT_TYPE_BY_CALL_TYPE));
const TOOL_SEARCH_OUTPUT = 'tool_search_output';
const MCP_APPROVAL_REQUEST = 'mcp_approval_request';
const MCP_APPROVAL_RESPONSE = 'mcp_approval_response';
const TOOL_SEARCH_PREFIX = `${TOOL_SEARCH_OUTPUT}\u0000`;
const ANONYMOUS_TOOL_SEARCH = `${TOOL_SEARCH_PREFIX}?`;

type Item = Record<string, unknown> | null | undefined;

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const record = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;

function toolSearchExecution(item: Record<string, unknown>): unknown {
  return item.execution ?? record(item.providerData)?.execution;
}

function toolSearchCallId(item: Record<string, unknown>): string | undefined {
  const provider = record(item.providerData);
  for (const candidate of [provider?.call_id, provider?.callId, item.call_id, item.callId]) {
    if (nonEmpty(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The key that pairs a call with its output (`undefined` when `item` is not a call that expects
 * an output item). Hosted tool calls other than MCP approval requests carry their own result.
 */
export function toolCallKey(item: Item): string | undefined {
  if (!item || typeof item !== 'object') return undefined;
  const type = item.type;
  if (type === 'tool_search_call') {
    if (toolSearchExecution(item) === 'server') return undefined;
    const id = toolSearchCallId(item) ?? (nonEmpty(item.id) ? item.id : undefined);
    return id === undefined ? ANONYMOUS_TOOL_SEARCH : `${TOOL_SEARCH_PREFIX}${id}`;
  }
  const resultType = typeof type === 'string' ? RESULT_TYPE_BY_CALL_TYPE[type] : undefined;
  if (resultType) return nonEmpty(item.callId) ? `${resultType}\u0000${item.callId}` : undefined;
  if (type !== 'hosted_tool_call') return undefined;
  const provider = record(item.providerData);
  if (item.name !== MCP_APPROVAL_REQUEST && provider?.type !== MCP_APPROVAL_REQUEST) return undefined;
  const id = provider?.id ?? item.id;
  return nonEmpty(id) ? `${MCP_APPROVAL_RESPONSE}\u0000${id}` : undefined;
}

/**
 * The key of the call a tool output answers (`undefined` when `item` is not a tool output).
 * A client tool search output without any id answers the nearest earlier open tool search call.
 */
export function toolOutputKey(item: Item): string | undefined {
  if (!item || typeof item !== 'object') return undefined;
  const type = item.type;
  if (type === TOOL_SEARCH_OUTPUT) {
    if (toolSearchExecution(item) === 'server') return undefined;
    const id = toolSearchCallId(item);
    return id === undefined ? ANONYMOUS_TOOL_SEARCH : `${TOOL_SEARCH_PREFIX}${id}`;
  }
  if (typeof type === 'string' && RESULT_TYPES.has(type)) {
    return nonEmpty(item.callId) ? `${type}\u0000${item.callId}` : undefined;
  }
  if (type === 'hosted_tool_call' && item.name === MCP_APPROVAL_RESPONSE) {
    const id = record(item.providerData)?.approval_request_id;
    return nonEmpty(id) ? `${MCP_APPROVAL_RESPONSE}\u0000${id}` : undefined;
  }
  return undefined;
}

/** A user message (`{ role: 'user' }`, with or without `type: 'message'`) starts a turn. */
export function isUserMessage(item: Item): boolean {
  return !!item && item.role === 'user' && (item.type === undefined || item.type === 'message');
}

export function isReasoning(item: Item): boolean {
  return !!item && item.type === 'reasoning';
}

/**
 * Where the window starts in `items` (the newest items of a history, oldest first), or
 * `undefined` when `items` does not reach far enough back to decide (read more and call again).
 * `complete` says that `items` is the whole history.
 *
 * A start `s` is a valid cut when every tool output in `items[s..]` has its call in `items[s..]`
 * (no output whose call was cut off, no call separated from its output) and `items[s - 1]` is not
 * a reasoning item (which belongs with the item after it). The window starts at the first valid
 * cut at or after the target — `n - maxItems`, or the `maxTurns`-th newest user message,
 * whichever is later — so it never exceeds either bound. Validity depends only on the items
 * inside the window, so the decision never needs more than the bounds themselves.
 *
 * Consequences: an orphaned output (its call is nowhere in the history, which the model API
 * refuses) is never in a window, which starts after it; and if the newest `maxItems` items hold
 * no valid cut at all (one tool-call batch larger than `maxItems`), the window is empty.
 */
export function selectHistoryWindow(
  items: readonly AgentInputItem[],
  options: HistoryWindowOptions,
  complete: boolean,
): number | undefined {
  const { maxItems, maxTurns } = options;
  const n = items.length;
  if (n === 0) return 0;
  let target = 0;
  if (maxItems !== undefined) {
    if (n > maxItems) target = n - maxItems;
    else if (!complete) return undefined;
  }
  if (maxTurns !== undefined) {
    let seen = 0;
    let turnStart = -1;
    for (let i = n - 1; i >= target && turnStart === -1; i--) {
      if (isUserMessage(items[i]) && ++seen === maxTurns) turnStart = i;
    }
    if (turnStart > target) target = turnStart;
    // Not found at or after `target`: it lies before `target` (which then decides) or is unknown.
    else if (turnStart === -1 && target === 0 && !complete) return undefined;
  }
  // `items[target - 1]` must be visible to check the reasoning rule at the target itself.
  if (target === 0 && !complete) return undefined;

  // Scan backwards, tracking outputs whose call has not been seen yet.
  const pending = new Map<string, number>();
  let open = 0;
  let best = n;
  for (let s = n - 1; s >= target; s--) {
    const item = items[s];
    const outputKey = toolOutputKey(item);
    if (outputKey !== undefined) {
      pending.set(outputKey, (pending.get(outputKey) ?? 0) + 1);
      open++;
    } else {
      let callKey = toolCallKey(item);
      if (callKey !== undefined && !pending.has(callKey) && callKey.startsWith(TOOL_SEARCH_PREFIX)) {
        callKey = ANONYMOUS_TOOL_SEARCH; // answers an output that carried no call id
      }
      const count = callKey === undefined ? undefined : pending.get(callKey);
      if (count !== undefined) {
        if (count === 1) pending.delete(callKey!);
        else pending.set(callKey!, count - 1);
        open--;
      }
    }
    if (open === 0 && (s === 0 || !isReasoning(items[s - 1]))) best = s;
  }
  return best;
}

/** The window of a whole history (see {@link selectHistoryWindow}). */
export function historyWindow(items: readonly AgentInputItem[], options: HistoryWindowOptions): AgentInputItem[] {
  validateWindowOptions(options);
  return items.slice(selectHistoryWindow(items, options, true));
}

function validateWindowOptions(options: HistoryWindowOptions): HistoryWindowOptions {
  if (options === null || typeof options !== 'object') {
    throw new SessionValidationError('history window options must be an object');
  }
  const { maxItems, maxTurns } = options;
  for (const [name, value] of [
    ['maxItems', maxItems],
    ['maxTurns', maxTurns],
  ] as const) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)) {
      throw new SessionValidationError(`${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (maxItems === undefined && maxTurns === undefined) {
    throw new SessionValidationError('a history window needs maxItems, maxTurns or both');
  }
  return { maxItems, maxTurns };
}

/** How many items the first read asks for when only `maxTurns` is set, per turn. */
const ITEMS_PER_TURN_GUESS = 8;

/**
 * Wraps `session` so that `getItems()` without a limit returns a bounded window (see
 * {@link selectHistoryWindow}). `getItems(limit)` and every write go to the full history.
 *
 * Reads only what it needs: `getItems(maxItems + 1)` when `maxItems` is set (one read), otherwise
 * `getItems(k)` with `k` doubling from `8 × maxTurns` until the window is decided.
 */
/** Marks a history-window facade, so whole-history readers (copy) can read through it. */
export const HISTORY_WINDOW: unique symbol = Symbol.for('@sessions/core/history-window');

/** The session under any history windows: `getItems()` there returns the whole history. */
export function withoutHistoryWindow(session: Session): Session {
  let current = session as Session & { [HISTORY_WINDOW]?: true; inner?: Session };
  while (current[HISTORY_WINDOW] && current.inner) current = current.inner as typeof current;
  return current;
}

export function withHistoryWindow<S extends Session>(
  session: S,
  options: HistoryWindowOptions,
): WrappedSession<S> & { readonly inner: S } {
  if (session === null || typeof session !== 'object' || !hasMethod(session, 'getItems')) {
    throw new SessionValidationError('withHistoryWindow expects a session as its first argument');
  }
  const bounds = validateWindowOptions(options);
  const inner = session as AnySession;
  const initial =
    bounds.maxItems !== undefined ? bounds.maxItems + 1 : Math.min(2 ** 30, bounds.maxTurns! * ITEMS_PER_TURN_GUESS);

  async function getItems(limit?: number, ...rest: unknown[]): Promise<AgentInputItem[]> {
    if (limit !== undefined) {
      validateLimit(limit);
      return inner.getItems(limit, ...rest);
    }
    for (let want = initial; ; want = Math.min(Number.MAX_SAFE_INTEGER, want * 2)) {
      const items: AgentInputItem[] = await inner.getItems(want, ...rest);
      const complete = items.length < want;
      const start = selectHistoryWindow(items, bounds, complete);
      if (start !== undefined) return items.slice(start);
    }
  }

  const facade = buildFacade(
    session,
    {
      getSessionId: (...rest) => inner.getSessionId(...rest),
      getItems,
      addItems: (items, ...rest) => inner.addItems(items, ...rest),
      popItem: (...rest) => inner.popItem(...rest),
      clearSession: (...rest) => inner.clearSession(...rest),
      applyHistoryTransaction: (args, ...rest) => inner.applyHistoryTransaction(args, ...rest),
      replaceHistoryWithCompaction: (items, ...rest) => inner.replaceHistoryWithCompaction(items, ...rest),
      applyHistoryMutations: (args, ...rest) => inner.applyHistoryMutations(args, ...rest),
    },
    { inner: session },
  );
  Object.defineProperty(facade, HISTORY_WINDOW, { value: true });
  return facade;
}
