import { ClientHandle } from '../base/client-handle.js';
import { BaseSession, type BaseSessionOptions, type MetadataWrite } from '../base/session.js';
import { BaseSessionStore, type BaseSessionStoreOptions } from '../base/store.js';
import { decodeMetadata, metadataMatches } from '../catalog/metadata.js';
import type { CatalogPosition, CatalogQuery } from '../catalog/query.js';
import { SortedSessionIndex } from '../catalog/sorted-index.js';
import { DEFAULT_OPERATION_RETENTION_SECONDS, type EncodedHistoryTransaction } from '../encoding/transactions.js';
import { settleTransaction, type TransactionVerdict } from '../errors/verdict.js';
import type { SessionInfo } from '../protocol/catalog.js';

/** What one session holds. Items are kept as encoded text, so reads return fresh objects. */
interface SessionRecord {
  items: string[];
  expiresAt: number | undefined;
  operations: Map<string, { fingerprint: string; at: number }>;
  createdAt: number;
  updatedAt: number;
  /** Canonical JSON of the metadata ('' before the first metadata write) and its version. */
  metadataText: string;
  metadataVersion: number;
}

/** The storage behind in-memory sessions: share one between sessions to share history. */
export type InMemoryStorage = Map<string, SessionRecord>;

// The listing order of each storage, kept beside it (a storage is a plain Map users may create).
const indexes = new WeakMap<InMemoryStorage, SortedSessionIndex>();

function catalogIndex(storage: InMemoryStorage): SortedSessionIndex {
  let index = indexes.get(storage);
  if (!index) {
    index = new SortedSessionIndex();
    for (const [id, record] of storage) index.move(id, undefined, record.updatedAt);
    indexes.set(storage, index);
  }
  return index;
}

/** The live record of `sessionId`, or undefined when absent or expired (an expired one is dropped). */
function liveRecord(storage: InMemoryStorage, sessionId: string): SessionRecord | undefined {
  const record = storage.get(sessionId);
  if (record?.expiresAt !== undefined && record.expiresAt <= Date.now()) {
    dropRecord(storage, sessionId);
    return undefined;
  }
  return record;
}

function dropRecord(storage: InMemoryStorage, sessionId: string): void {
  const record = storage.get(sessionId);
  if (!record) return;
  storage.delete(sessionId);
  catalogIndex(storage).remove(sessionId, record.updatedAt);
}

function sessionInfo(sessionId: string, record: SessionRecord): SessionInfo {
  return {
    sessionId,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
    itemCount: record.items.length,
    metadata: decodeMetadata(record.metadataText),
    ...(record.expiresAt !== undefined && { expiresAt: new Date(record.expiresAt) }),
  };
}

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

  #current(): SessionRecord | undefined {
    return liveRecord(this.#storage, this.sessionId);
  }

  /** The record about to be written: created if new; `updatedAt`, its place in the listing and the TTL move with the write. */
  #forWrite(): SessionRecord {
    const now = Date.now();
    // Taken first: a lazily built index must not already hold the record created below.
    const index = catalogIndex(this.#storage);
    let record = this.#current();
    const previous = record?.updatedAt;
    if (!record) {
      record = {
        items: [],
        expiresAt: undefined,
        operations: new Map(),
        createdAt: now,
        updatedAt: now,
        metadataText: '',
        metadataVersion: 0,
      };
      this.#storage.set(this.sessionId, record);
    }
    record.updatedAt = Math.max(now, record.updatedAt);
    index.move(this.sessionId, previous, record.updatedAt);
    const ttl = this.ttlMs;
    record.expiresAt = ttl === undefined ? undefined : now + ttl;
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
    // The session stays in the catalog, with its metadata and no items.
    if (!this.#current()) return;
    const record = this.#forWrite();
    record.items = [];
    record.operations.clear();
  }

  protected async readMetadata(): Promise<{ text: string; version: number } | undefined> {
    const record = this.#current();
    return record && { text: record.metadataText, version: record.metadataVersion };
  }

  protected async writeMetadata(update: MetadataWrite): Promise<boolean> {
    if ((this.#current()?.metadataVersion ?? 0) !== update.expectedVersion) return false;
    const record = this.#forWrite();
    record.metadataText = update.text;
    record.metadataVersion = update.expectedVersion + 1;
    return true;
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

/** A page with a rare metadata match stops after this many sessions, and says where to resume. */
const MAX_EXAMINED_PER_PAGE = 10_000;

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

  protected async listCatalog(query: CatalogQuery): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
    const storage = this.#storage.client;
    // `updatedBefore` is a starting point: half a millisecond later than it is listed before every
    // session updated before it, and after every session updated at or after it.
    const before =
      query.updatedBefore === undefined ? undefined : { updatedAt: query.updatedBefore - 0.5, sessionId: '' };
    const start = !before || (query.after && query.after.updatedAt < before.updatedAt) ? query.after : before;
    const sessions: SessionInfo[] = [];
    let examined = 0;
    let lastExamined: CatalogPosition | undefined;
    for (const position of catalogIndex(storage).from(start)) {
      if (query.updatedAfter !== undefined && position.updatedAt <= query.updatedAfter) break;
      if (sessions.length === query.limit || examined === MAX_EXAMINED_PER_PAGE) {
        // More may follow: resume after the last position this page looked at.
        const last = sessions.at(-1);
        return {
          sessions,
          next:
            examined === MAX_EXAMINED_PER_PAGE
              ? lastExamined!
              : { updatedAt: last!.updatedAt.getTime(), sessionId: last!.sessionId },
        };
      }
      examined++;
      lastExamined = position;
      const record = liveRecord(storage, position.sessionId);
      if (!record) continue;
      if (query.metadata.length > 0 && !metadataMatches(decodeMetadata(record.metadataText), query.metadata)) continue;
      sessions.push(sessionInfo(position.sessionId, record));
    }
    return { sessions };
  }

  protected async readSessionInfo(sessionId: string): Promise<SessionInfo | undefined> {
    const record = liveRecord(this.#storage.client, sessionId);
    return record && sessionInfo(sessionId, record);
  }

  protected async removeSession(sessionId: string): Promise<void> {
    dropRecord(this.#storage.client, sessionId);
  }

  protected override describe(): Record<string, unknown> {
    return { sharedStorage: !this.#storage.owned };
  }

  /** Raw view for tests: how many items are physically held for `sessionId`. */
  storedItemCount(sessionId: string): number {
    return this.#storage.peek()?.get(sessionId)?.items.length ?? 0;
  }
}
