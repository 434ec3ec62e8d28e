import { redactSecrets } from './redact.js';

/**
 * Driver errors are kept as `cause` so callers can inspect them, but drivers put connection URLs
 * (with passwords) in their messages, stacks and properties. Before a driver error is attached,
 * its whole cause chain is masked in place: whatever prints it — `util.inspect`, `String`,
 * `JSON.stringify`, a logger that walks `cause` — sees no credential.
 */
const MAX_DEPTH = 8;
const MAX_PROPERTY_DEPTH = 3;
const SECRET_KEY = /^(pass|password|passwd|pwd|secret\w*|\w*token|api_?key|access_?key|credentials?|authorization)$/i;
const sanitized = new WeakSet<object>();

/** Masks credentials in `error` and every error below it (`cause`, `errors`), in place. */
export function sanitizeError<T>(error: T): T {
  visit(error, 0);
  return error;
}

function visit(error: unknown, depth: number): void {
  if (typeof error !== 'object' || error === null || depth > MAX_DEPTH || sanitized.has(error)) return;
  sanitized.add(error);
  const record = error as Record<string | symbol, unknown>;
  for (const key of ['message', 'stack'] as const) {
    const value = safeGet(record, key);
    if (typeof value === 'string') setQuietly(record, key, redactSecrets(value));
  }
  for (const key of Object.keys(record)) {
    if (key === 'cause' || key === 'errors' || key === 'message' || key === 'stack') continue;
    setQuietly(record, key, maskValue(key, safeGet(record, key), 0));
  }
  visit(safeGet(record, 'cause'), depth + 1);
  const errors = safeGet(record, 'errors');
  if (Array.isArray(errors)) for (const inner of errors.slice(0, 16)) visit(inner, depth + 1);
}

function maskValue(key: string, value: unknown, depth: number): unknown {
  if (typeof value === 'string') return SECRET_KEY.test(key) && value.length > 0 ? '***' : redactSecrets(value);
  if (typeof value !== 'object' || value === null || depth >= MAX_PROPERTY_DEPTH) return value;
  if (value instanceof Error) {
    visit(value, 1);
    return value;
  }
  if (SECRET_KEY.test(key)) return '***';
  if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
    // Plain data only: a driver's option bag or headers, never a live client or socket.
    const record = value as Record<string, unknown>;
    for (const inner of Object.keys(record).slice(0, 64)) {
      setQuietly(record, inner, maskValue(inner, safeGet(record, inner), depth + 1));
    }
  }
  return value;
}

function safeGet(record: Record<string | symbol, unknown>, key: string): unknown {
  try {
    return record[key];
  } catch {
    return undefined;
  }
}

function setQuietly(record: Record<string | symbol, unknown>, key: string, value: unknown): void {
  if (safeGet(record, key) === value) return;
  try {
    const descriptor = Object.getOwnPropertyDescriptor(record, key);
    if (descriptor && !descriptor.writable && !descriptor.configurable) return;
    Object.defineProperty(record, key, {
      value,
      writable: true,
      configurable: true,
      enumerable: descriptor?.enumerable ?? false,
    });
  } catch {
    // A frozen error: nothing can be changed, and nothing else is safe to do.
  }
}
