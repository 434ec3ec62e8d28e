import { decodeMetadata, mergeMetadata, validateMetadataPatch } from '../catalog/metadata.js';
import {
  validateCreateIfMissing,
  validateLimit,
  validateSessionId,
  validateTimeoutMs,
  validateTtlSeconds,
} from '../encoding/arguments.js';
import { decodeItem, decodeItems, encodeItems, utf8ByteLength } from '../encoding/items.js';
import {
  type EncodedHistoryTransaction,
  encodeHistoryMutations,
  encodeHistoryTransaction,
} from '../encoding/transactions.js';
import { isReadOperation, mapDriverError, runOperation, withDeadline } from '../errors/operation.js';
import {
  SessionClosedError,
  SessionConflictError,
  SessionCorruptDataError,
  type SessionError,
  SessionItemTooLargeError,
  SessionTimeoutError,
  SessionValidationError,
} from '../errors/session-errors.js';
import type { MetadataCapable, SessionMetadata } from '../protocol/catalog.js';
import type { JsonValue } from '../protocol/json.js';
import { INSPECT } from './inspect.js';
import { checkOptions } from './options.js';

const BASE_SESSION_OPTIONS = ['sessionId', 'ttlSeconds', 'timeoutMs', 'isClosed'] as const;

import type { AgentInputItem, FullSession, HistoryMutationArgs, HistoryTransactionArgs } from '../protocol/session.js';

/** Options every session class accepts. */
export interface BaseSessionOptions {
  sessionId: string;
  /** Expire the session this many seconds after its last write (sliding). */
  ttlSeconds?: number;
  /**
   * Deadline of every operation in milliseconds (default 10,000): connecting, queueing and the
   * database call together. Past it the call fails with `SessionTimeoutError`.
   */
  timeoutMs?: number;
  /**
   * `false`: the session never creates a schema, table, index or file; reads treat what is missing
   * as empty and writes fail. Default `true`. A backend without a schema ignores it.
   */
  createIfMissing?: boolean;
  /** Set by a store so that its sessions fail with `SessionClosedError` once it is closed. */
  isClosed?: () => boolean;
}

/**
 * Everything a backend shares: argument validation and JSON encoding before any I/O, the
 * closed check, typed error wrapping, decoding into fresh objects, and capabilities built
 * from the backend's atomic primitives. A backend implements only the protected primitives,
 * each of which must be atomic on its own.
 */
/** What `writeMetadata` is asked to store. */
export interface MetadataWrite {
  /** The version read with the current metadata (0 when the session had none). */
  expectedVersion: number;
  /** The whole metadata after the update, as canonical JSON text (what `readMetadata` returns). */
  text: string;
  /** The same, as an object, for backends that also keep a form they can filter on. */
  metadata: SessionMetadata;
}

export abstract class BaseSession implements FullSession, MetadataCapable {
  readonly sessionId: string;
  readonly ttlSeconds: number | undefined;
  readonly timeoutMs: number;
  readonly createIfMissing: boolean;
  readonly #isClosed: () => boolean;

  /** `knownOptions`: the subclass's own option keys; any key neither it nor the base knows is refused. */
  constructor(options: BaseSessionOptions, knownOptions?: readonly string[]) {
    if (options === null || typeof options !== 'object') {
      throw new SessionValidationError('session options must be an object');
    }
    if (knownOptions) {
      checkOptions(new.target.name, options, [...BASE_SESSION_OPTIONS, ...knownOptions, 'createIfMissing']);
    }
    this.sessionId = validateSessionId(options.sessionId);
    this.ttlSeconds = validateTtlSeconds(options.ttlSeconds);
    this.timeoutMs = validateTimeoutMs(options.timeoutMs);
    this.createIfMissing = validateCreateIfMissing(options.createIfMissing);
    this.#isClosed = options.isClosed ?? (() => false);
  }

  /**
   * Largest encoded item (UTF-8 bytes) the backend can store, or undefined for no limit.
   * Items over it are refused with `SessionItemTooLargeError` before any I/O.
   */
  protected get maxItemBytes(): number | undefined {
    return undefined;
  }

  /** TTL in milliseconds, or undefined. */
  protected get ttlMs(): number | undefined {
    return this.ttlSeconds === undefined ? undefined : Math.ceil(this.ttlSeconds * 1000);
  }

  /** The newest `limit` items (limit ≥ 1), or all when undefined, oldest first, as stored text. */
  protected abstract readItems(limit: number | undefined): Promise<string[]>;
  /** Appends a non-empty batch atomically with contiguous sequence numbers. */
  protected abstract appendItems(items: string[]): Promise<void>;
  /** Removes and returns the newest item atomically. */
  protected abstract popLastItem(): Promise<string | undefined>;
  /** Removes every item (and remembered operation ids) of the session. */
  protected abstract clearItems(): Promise<void>;
  /** Applies the transaction atomically and idempotently; throws `SessionConflictError`. */
  protected abstract commitTransaction(transaction: EncodedHistoryTransaction): Promise<void>;
  /** Replaces the whole history atomically. */
  protected abstract replaceAllItems(items: string[]): Promise<void>;
  /** The session's metadata text and its version (0 before the first metadata write), or undefined. */
  protected abstract readMetadata(): Promise<{ text: string; version: number } | undefined>;
  /**
   * Compare-and-set: stores `update.text` as version `expectedVersion + 1` only if the stored
   * version is still `expectedVersion`, in the same atomic step refreshing `updatedAt` (and
   * `createdAt` for a new entry) and the TTL; false when another writer got there first.
   */
  protected abstract writeMetadata(update: MetadataWrite): Promise<boolean>;

  async getSessionId(): Promise<string> {
    this.assertOpen();
    return this.sessionId;
  }

  async getItems(limit?: number): Promise<AgentInputItem[]> {
    const checked = validateLimit(limit);
    this.assertOpen();
    if (checked === 0) return [];
    return decodeItems(await this.run('getItems', () => this.readItems(checked)));
  }

  async addItems(items: AgentInputItem[]): Promise<void> {
    const encoded = this.#checkSizes(encodeItems(items), 'items');
    this.assertOpen();
    if (encoded.length === 0) return;
    await this.run('addItems', () => this.appendItems(encoded));
  }

  async popItem(): Promise<AgentInputItem | undefined> {
    this.assertOpen();
    const text = await this.run('popItem', () => this.popLastItem());
    if (text === undefined) return undefined;
    try {
      return decodeItem(text);
    } catch (error) {
      // The item is gone by now (the pop is atomic); say so, and hand back what was stored.
      throw new SessionCorruptDataError(
        'popItem removed the newest item, but it is not valid JSON; its stored text is in error.removedText',
        { cause: error, removedText: text },
      );
    }
  }

  async clearSession(): Promise<void> {
    this.assertOpen();
    await this.run('clearSession', () => this.clearItems());
  }

  async applyHistoryTransaction(args: HistoryTransactionArgs): Promise<void> {
    const encoded = encodeHistoryTransaction(args);
    this.#checkSizes(encoded.replacement, 'transaction.replacement');
    this.assertOpen();
    await this.run('applyHistoryTransaction', () => this.commitTransaction(encoded));
  }

  async replaceHistoryWithCompaction(items: AgentInputItem[]): Promise<void> {
    const encoded = this.#checkSizes(encodeItems(items), 'items');
    this.assertOpen();
    await this.run('replaceHistoryWithCompaction', () => this.replaceAllItems(encoded));
  }

  /**
   * Replaces stored `function_call` items by `callId`, in place. Built on the atomic
   * transaction primitive: the suffix from the first affected item is swapped only if it is
   * still what was read, and re-read and retried when a concurrent write got there first.
   */
  async applyHistoryMutations(args: HistoryMutationArgs): Promise<void> {
    const replacements = encodeHistoryMutations(args, this.maxItemBytes);
    this.assertOpen();
    if (replacements.size === 0) return;
    // Each attempt's calls have their own deadline; this one bounds the retries as a whole.
    await withDeadline('applyHistoryMutations', this.#mutate(replacements), { timeoutMs: this.timeoutMs, write: true });
  }

  async #mutate(replacements: Map<string, string>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const stored = await this.run('applyHistoryMutations', () => this.readItems(undefined));
      const next = replaceFunctionCalls(stored, replacements);
      let first = 0;
      while (first < stored.length && first < next.length && stored[first] === next[first]) first++;
      if (first === stored.length && first === next.length) return;
      try {
        await this.run('applyHistoryMutations', () =>
          this.commitTransaction({
            operationId: `mutation:${globalThis.crypto.randomUUID()}`,
            fingerprint: '',
            expectedSuffix: stored.slice(first),
            replacement: next.slice(first),
          }),
        );
        return;
      } catch (error) {
        const retry = error instanceof SessionConflictError && error.reason === 'suffix_mismatch' && attempt < 10;
        if (!retry) throw error;
      }
    }
  }

  async getMetadata(): Promise<SessionMetadata> {
    this.assertOpen();
    return decodeMetadata((await this.run('getMetadata', () => this.readMetadata()))?.text);
  }

  /**
   * Sets each key of `patch` (`null` removes it) and returns the result. Merged here, once for
   * every backend, then stored by compare-and-set: two writers setting different keys both land,
   * the loser of a race re-reads and merges again, within the one deadline of the call.
   */
  async updateMetadata(patch: Record<string, JsonValue | null>): Promise<SessionMetadata> {
    const checked = validateMetadataPatch(patch);
    this.assertOpen();
    if (Object.keys(checked).length === 0) return this.getMetadata();
    const until = Date.now() + this.timeoutMs;
    return withDeadline('updateMetadata', this.#updateMetadata(checked, until), {
      timeoutMs: this.timeoutMs,
      write: true,
    });
  }

  async #updateMetadata(patch: Record<string, JsonValue | null>, until: number): Promise<SessionMetadata> {
    // Past `until` the caller has its SessionTimeoutError already; stop retrying in the background.
    for (let attempt = 0; Date.now() < until; attempt++) {
      const current = await this.run('updateMetadata', () => this.readMetadata());
      const { metadata, text } = mergeMetadata(decodeMetadata(current?.text), patch);
      const expectedVersion = current?.version ?? 0;
      if (await this.run('updateMetadata', () => this.writeMetadata({ expectedVersion, text, metadata }))) {
        return metadata;
      }
      // Lost a race: back off a little (jittered, growing) so that many writers spread out.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
    }
    throw new SessionTimeoutError('updateMetadata', this.timeoutMs, { mayHaveApplied: false });
  }

  #checkSizes(encoded: string[], label: string): string[] {
    const max = this.maxItemBytes;
    if (max === undefined) return encoded;
    encoded.forEach((text, i) => {
      // UTF-8 takes at most 3 bytes per UTF-16 unit: skip counting when it cannot exceed.
      if (text.length * 3 <= max) return;
      const bytes = utf8ByteLength(text);
      if (bytes > max) throw new SessionItemTooLargeError(`${label}[${i}]`, bytes, max);
    });
    return encoded;
  }

  protected assertOpen(): void {
    if (this.#isClosed()) throw new SessionClosedError();
  }

  /** Runs a primitive and turns anything the driver throws into a typed `SessionError`. */
  protected run<T>(operation: string, primitive: () => Promise<T>): Promise<T> {
    return runOperation(operation, primitive, (op, error) => this.toSessionError(op, error), this.#isClosed, {
      timeoutMs: this.timeoutMs,
      write: !isReadOperation(operation),
    });
  }

  /** The backend's `errors.ts` mapping; core's default knows only generic socket errors. */
  protected toSessionError(operation: string, error: unknown): SessionError {
    return mapDriverError(operation, error);
  }

  /** What `console.log(session)` and `JSON.stringify(session)` show: never a client or a credential. */
  toJSON(): Record<string, unknown> {
    return { sessionId: this.sessionId, ttlSeconds: this.ttlSeconds, timeoutMs: this.timeoutMs };
  }

  [INSPECT](_depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    return `${this.constructor.name} ${inspect(this.toJSON(), options)}`;
  }
}

/**
 * The SDK's rule for `replace_function_call`: the first stored `function_call` with the call id
 * becomes the replacement, and later ones with the same id are dropped (a history must not hold
 * the same call twice).
 */
function replaceFunctionCalls(stored: string[], replacements: Map<string, string>): string[] {
  const replaced = new Set<string>();
  const next: string[] = [];
  for (const text of stored) {
    const item = decodeItem(text);
    const callId = item?.type === 'function_call' && typeof item.callId === 'string' ? item.callId : undefined;
    const replacement = callId === undefined ? undefined : replacements.get(callId);
    if (replacement === undefined) next.push(text);
    else if (!replaced.has(callId!)) {
      replaced.add(callId!);
      next.push(replacement);
    }
  }
  return next;
}
