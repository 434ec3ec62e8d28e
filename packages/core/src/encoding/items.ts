import { SessionCorruptDataError, SessionSerializationError } from '../errors/index.js';
import type { AgentInputItem } from '../protocol/session.js';

/** Deeper nesting than this is refused rather than risking a stack overflow in a driver. */
export const MAX_ITEM_DEPTH = 500;

/**
 * Validates `items` and encodes each one as canonical JSON text: object keys sorted, no
 * whitespace, `undefined` properties dropped (as `JSON.stringify` does), `-0` written as `0`.
 *
 * Canonical text makes "deep-equal" and "byte-equal" the same thing, so backends compare a
 * transaction's expected suffix inside the database (SQL `=`, a Lua string compare) instead of
 * reading it back. Throws {@link SessionSerializationError} naming the first offending path;
 * nothing is encoded partially, so a caller that validates first never writes half a batch.
 */
export function encodeItems(items: readonly AgentInputItem[], label = 'items'): string[] {
  if (!Array.isArray(items)) {
    throw new SessionSerializationError(label, `expected an array of items, got ${describe(items)}`);
  }
  const encoded = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    encoded[i] = encodeItem(items[i], `${label}[${i}]`);
  }
  return encoded;
}

/** Encodes one item (a plain JSON object) as canonical JSON text. */
export function encodeItem(item: AgentInputItem, path = 'item'): string {
  if (!isPlainObjectSafely(item, path)) {
    throw new SessionSerializationError(path, `an item must be a plain JSON object, got ${describe(item)}`);
  }
  return encodeValue(item, path, new Set(), 0);
}

/** Parses text written by {@link encodeItem}. Every call returns fresh objects. */
export function decodeItem(text: string): AgentInputItem {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SessionCorruptDataError('A stored item is not valid JSON', { cause: error });
  }
}

export function decodeItems(texts: readonly string[]): AgentInputItem[] {
  return texts.map(decodeItem);
}

/** Size of encoded text in UTF-8 bytes, which is what databases count against their limits. */
export function utf8ByteLength(text: string): number {
  // Counted by hand: no Buffer (edge runtimes) and no 1 MiB TextEncoder allocation per item.
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function encodeValue(value: unknown, path: string, ancestors: Set<object>, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) {
        throw new SessionSerializationError(path, `${value} is not representable in JSON`);
      }
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    case 'bigint':
      throw new SessionSerializationError(path, 'BigInt is not representable in JSON; store it as a string');
    case 'function':
      throw new SessionSerializationError(path, 'functions are not representable in JSON');
    case 'symbol':
      throw new SessionSerializationError(path, 'symbols are not representable in JSON');
    case 'undefined':
      throw new SessionSerializationError(path, 'undefined is not representable in JSON here');
  }
  if (value === null) return 'null';
  if (depth >= MAX_ITEM_DEPTH) {
    throw new SessionSerializationError(path, `nesting deeper than ${MAX_ITEM_DEPTH} levels`);
  }
  try {
    return encodeObject(value as object, path, ancestors, depth);
  } catch (error) {
    if (error instanceof SessionSerializationError) throw error;
    throw threw(path, error);
  }
}

/**
 * A getter or a Proxy trap threw while the item was read: the caller's bug, reported where it
 * is. The thrown message is not repeated (it may hold anything, secrets included); its class is.
 */
function threw(path: string, error: unknown): SessionSerializationError {
  let name: string = typeof error;
  try {
    name = (error as Error)?.constructor?.name ?? name;
  } catch {}
  return new SessionSerializationError(path, `reading it threw (${name}); the item cannot be stored`);
}

function readProperty(record: Record<string, unknown>, key: string, path: string): unknown {
  try {
    return record[key];
  } catch (error) {
    throw threw(path, error);
  }
}

function encodeObject(object: object, path: string, ancestors: Set<object>, depth: number): string {
  if (ancestors.has(object)) {
    throw new SessionSerializationError(path, 'circular reference');
  }
  ancestors.add(object);
  let out: string;
  if (Array.isArray(object)) {
    const parts = new Array<string>(object.length);
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) throw new SessionSerializationError(`${path}[${i}]`, 'sparse array hole');
      parts[i] = encodeValue(object[i], `${path}[${i}]`, ancestors, depth + 1);
    }
    out = `[${parts.join(',')}]`;
  } else if (isPlainObject(object)) {
    const record = object as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const at = childPath(path, key);
      const child = readProperty(record, key, at);
      if (child === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${encodeValue(child, at, ancestors, depth + 1)}`);
    }
    out = `{${parts.join(',')}}`;
  } else {
    throw new SessionSerializationError(path, `${describe(object)} is not a plain JSON value`);
  }
  ancestors.delete(object);
  return out;
}

function isPlainObjectSafely(value: unknown, path: string): boolean {
  try {
    return isPlainObject(value);
  } catch (error) {
    throw threw(path, error);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function childPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    return name ? `an instance of ${name}` : 'an object';
  }
  return typeof value;
}
