/** What an operation moved and how it ended: item counts, JSON bytes and the finished event. */
import { utf8ByteLength } from '../../encoding/items.js';
import { SessionValidationError } from '../../errors/session-errors.js';
import type { SessionOperation, SessionOperationEvent, SessionOperationStart } from './index.js';

/** The items one operation moved, filled in while it runs. */
export interface Tally {
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

export function finish(
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

export function isArray(value: unknown): value is unknown[] {
  try {
    return Array.isArray(value);
  } catch {
    return false; // a revoked Proxy: the inner session reports it
  }
}

export function checked(returned: unknown, items: unknown[], hook: string): unknown[] {
  if (returned === undefined) return items;
  if (!isArray(returned)) {
    throw new SessionValidationError(`withHooks: ${hook} must return an array of items, or nothing`);
  }
  return returned;
}
