import { SessionError, SessionItemTooLargeError, SessionValidationError } from '../errors/session-errors.js';
import type { HistoryMutationArgs, HistoryTransactionArgs } from '../protocol/session.js';
import { validateOperationId } from './arguments.js';
import { encodeItem, encodeItems, utf8ByteLength } from './items.js';

/**
 * A history transaction reduced to one shape every backend applies atomically:
 * "if the history ends with `expectedSuffix`, replace that suffix with `replacement`".
 * `append_items` is the same with an empty expected suffix.
 */
export interface EncodedHistoryTransaction {
  operationId: string;
  /** Digest of the whole transaction: the same id with a different digest is a conflict. */
  fingerprint: string;
  expectedSuffix: string[];
  replacement: string[];
}

/**
 * Validates and encodes a transaction before any I/O, with the SDK reference session's rules:
 * a blank operation id and unknown fields on the envelope are refused, and a caller object
 * whose reading throws (a getter, a Proxy trap) becomes a `SessionValidationError` that does not
 * carry the thrown message (it may hold anything, secrets included).
 */
export function encodeHistoryTransaction(args: HistoryTransactionArgs): EncodedHistoryTransaction {
  try {
    return encodeUnchecked(args);
  } catch (error) {
    if (error instanceof SessionError) throw error;
    throw new SessionValidationError('applyHistoryTransaction: reading the arguments failed; they are invalid');
  }
}

const ENVELOPE_FIELDS = ['operationId', 'transaction'];
const TRANSACTION_FIELDS: Record<string, string[]> = {
  append_items: ['type', 'items'],
  replace_suffix: ['type', 'expectedSuffix', 'replacement'],
};

function encodeUnchecked(args: HistoryTransactionArgs): EncodedHistoryTransaction {
  if (args === null || typeof args !== 'object') {
    throw new SessionValidationError('applyHistoryTransaction expects { operationId, transaction }');
  }
  refuseUnknownFields(args, ENVELOPE_FIELDS, 'applyHistoryTransaction arguments');
  const operationId = validateOperationId(args.operationId);
  const transaction = args.transaction;
  if (transaction === null || typeof transaction !== 'object') {
    throw new SessionValidationError('transaction must be an object');
  }
  const fields = TRANSACTION_FIELDS[transaction.type as string];
  if (!fields) {
    throw new SessionValidationError(
      `transaction.type must be 'append_items' or 'replace_suffix', got ${JSON.stringify((transaction as { type?: unknown }).type)}`,
    );
  }
  refuseUnknownFields(transaction, fields, 'transaction');
  let expectedSuffix: string[];
  let replacement: string[];
  if (transaction.type === 'append_items') {
    expectedSuffix = [];
    replacement = encodeItems(transaction.items, 'transaction.items');
  } else {
    expectedSuffix = encodeItems(transaction.expectedSuffix, 'transaction.expectedSuffix');
    replacement = encodeItems(transaction.replacement, 'transaction.replacement');
  }
  const canonical = `${transaction.type}\n${expectedSuffix.length}\n${expectedSuffix.join('\n')}\n${replacement.join('\n')}`;
  return { operationId, fingerprint: fingerprint(canonical), expectedSuffix, replacement };
}

function refuseUnknownFields(value: object, known: readonly string[], what: string): void {
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new SessionValidationError(
      `${what} has unknown field(s) ${unknown.map((key) => JSON.stringify(key)).join(', ')}; expected only ${known.join(', ')}`,
    );
  }
}

/**
 * A 128-bit non-cryptographic digest (four seeded 32-bit FNV-1a/murmur-mix lanes) as hex.
 * It only has to tell apart two transactions submitted under the same operation id, so
 * collision resistance against an adversary is not needed, and it stays synchronous and
 * dependency-free on every runtime.
 */
export function fingerprint(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x9e3779b9;
  let h3 = 0x85ebca6b;
  let h4 = 0xc2b2ae35;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h3 = Math.imul(h3 ^ c, 0x27d4eb2d);
    h4 = Math.imul(h4 ^ c, 0x165667b1);
  }
  const lanes = [h1, h2, h3, h4].map((h, lane) => {
    let x = h ^ (text.length + lane);
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    return ((x ^ (x >>> 16)) >>> 0).toString(16).padStart(8, '0');
  });
  return lanes.join('');
}

/** Operation ids are remembered this long by default (they only guard retries). */
export const DEFAULT_OPERATION_RETENTION_SECONDS = 24 * 60 * 60;

/**
 * Validates `applyHistoryMutations` arguments before any I/O and returns, per `callId`, the
 * encoded replacement of that function call (refusing one over `maxItemBytes`, if given).
 */
export function encodeHistoryMutations(args: HistoryMutationArgs, maxItemBytes?: number): Map<string, string> {
  const mutations = (args as { mutations?: unknown } | null)?.mutations;
  if (!Array.isArray(mutations)) throw new SessionValidationError('mutations must be an array');
  const replacements = new Map<string, string>();
  mutations.forEach((mutation, i) => {
    if (mutation?.type !== 'replace_function_call' || typeof mutation.callId !== 'string') {
      throw new SessionValidationError(
        `mutations[${i}] must be { type: 'replace_function_call', callId, replacement }`,
      );
    }
    const path = `mutations[${i}].replacement`;
    const text = encodeItem(mutation.replacement, path);
    if (maxItemBytes !== undefined && text.length * 3 > maxItemBytes) {
      const bytes = utf8ByteLength(text);
      if (bytes > maxItemBytes) throw new SessionItemTooLargeError(path, bytes, maxItemBytes);
    }
    replacements.set(mutation.callId, text);
  });
  return replacements;
}
