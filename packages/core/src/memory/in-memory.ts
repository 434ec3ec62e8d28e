import { ClientHandle } from '../base/client-handle.js';
import { BaseSession, type BaseSessionOptions } from '../base/session.js';
import { BaseSessionStore, type BaseSessionStoreOptions } from '../base/store.js';
import { DEFAULT_OPERATION_RETENTION_SECONDS, type EncodedHistoryTransaction } from '../encoding/transactions.js';
import { settleTransaction, type TransactionVerdict } from '../errors/verdict.js';

/** What one session holds. Items are kept as encoded text, so reads return fresh objects. */
interface SessionRecord {
  items: string[];
  expiresAt: number | undefined;
  operations: Map<string, { fingerprint: string; at: number }>;
}

/** The storage behind in-memory sessions: share one between sessions to share history. */
export type InMemoryStorage = Map<string, SessionRecord>;

/** A fresh, empty storage to share between in-memory stores or sessions. */
export function createInMemoryStorage(): InMemoryStorage {
  return new Map();
}

export interface InMemorySessionOptions extends BaseSessionOptions {
  storage?: InMemoryStorage;
}

/**
 * The reference implementation of the protocol. Every primitive runs synchronously inside one
 * microtask, which is what makes it atomic under concurrent callers in one process.
 */
export class InMemorySession extends BaseSession {
  readonly #storage: InMemoryStorage;

  constructor(options: InMemorySessionOptions) {
    super(options, ['storage']);
    this.#storage = options.storage ?? new Map();
  }

  /** The live record, or undefined when absent or expired (an expired one is dropped). */
  #current(): SessionRecord | undefined {
    const record = this.#storage.get(this.sessionId);
    if (record?.expiresAt !== undefined && record.expiresAt <= Date.now()) {
      this.#storage.delete(this.sessionId);
      return undefined;
    }
    return record;
  }

  #forWrite(): SessionRecord {
    let record = this.#current();
    if (!record) {
      record = { items: [], expiresAt: undefined, operations: new Map() };
      this.#storage.set(this.sessionId, record);
    }
    const ttl = this.ttlMs;
    record.expiresAt = ttl === undefined ? undefined : Date.now() + ttl;
    return record;
  }

  protected async readItems(limit: number | undefined): Promise<string[]> {
    const items = this.#current()?.items ?? [];
    return limit === undefined ? items.slice() : items.slice(Math.max(0, items.length - limit));
  }

  protected async appendItems(items: string[]): Promise<void> {
    this.#forWrite().items.push(...items);
  }

  protected async popLastItem(): Promise<string | undefined> {
    const record = this.#current();
    if (!record || record.items.length === 0) return undefined;
    return this.#forWrite().items.pop();
  }

  protected async clearItems(): Promise<void> {
    this.#storage.delete(this.sessionId);
  }

  protected async commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    settleTransaction(this.#verdict(tx), tx.operationId);
  }

  #verdict(tx: EncodedHistoryTransaction): TransactionVerdict {
    const now = Date.now();
    const existing = this.#current();
    const known = existing?.operations.get(tx.operationId);
    if (known && now - known.at < DEFAULT_OPERATION_RETENTION_SECONDS * 1000) {
      return known.fingerprint === tx.fingerprint ? 'replayed' : 'operation_id_reused';
    }
    const items = existing?.items ?? [];
    const start = items.length - tx.expectedSuffix.length;
    if (start < 0 || tx.expectedSuffix.some((text, i) => items[start + i] !== text)) return 'suffix_mismatch';
    const record = this.#forWrite();
    record.items.splice(start, tx.expectedSuffix.length, ...tx.replacement);
    for (const [id, seen] of record.operations) {
      if (now - seen.at >= DEFAULT_OPERATION_RETENTION_SECONDS * 1000) record.operations.delete(id);
    }
    record.operations.set(tx.operationId, { fingerprint: tx.fingerprint, at: now });
    return 'applied';
  }

  protected async replaceAllItems(items: string[]): Promise<void> {
    this.#forWrite().items = items.slice();
  }
}

export interface InMemorySessionStoreOptions extends BaseSessionStoreOptions {
  /** Share one storage between stores, as stores share a database; the store never clears it. */
  storage?: InMemoryStorage;
}

/** Sessions that live in this process only: for tests, prototypes and as the reference. */
export class InMemorySessionStore extends BaseSessionStore<InMemorySession> {
  // The storage plays the part of a database client: one passed in is borrowed and never
  // cleared; the store's own is "closed" (cleared) by close().
  readonly #storage: ClientHandle<InMemoryStorage>;

  constructor(options: InMemorySessionStoreOptions = {}) {
    super(options, ['storage']);
    this.#storage = this.adopt(
      options.storage === undefined
        ? ClientHandle.owned(createInMemoryStorage, (storage) => storage.clear())
        : ClientHandle.borrowed(options.storage),
    );
  }

  protected createSession(sessionId: string): InMemorySession {
    return new InMemorySession({ ...this.sessionOptions(sessionId), storage: this.#storage.client });
  }

  protected override describe(): Record<string, unknown> {
    return { sharedStorage: !this.#storage.owned };
  }

  /** Raw view for tests: how many items are physically held for `sessionId`. */
  storedItemCount(sessionId: string): number {
    return this.#storage.peek()?.get(sessionId)?.items.length ?? 0;
  }
}
