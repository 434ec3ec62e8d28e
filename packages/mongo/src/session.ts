import {
  BaseSession,
  type EncodedHistoryTransaction,
  isReadOperation,
  type MetadataWrite,
  type SessionError,
  SessionWriteQueue,
  settleTransaction,
} from '@sessions/core';
import type { Db, MongoClient } from 'mongodb';
import { assertCallActive, type InFlight, runCall } from './engine/call.js';
import { healBorrowed } from './engine/connection.js';
import { MAX_ITEM_BYTES } from './engine/documents.js';
import { SessionHistory } from './engine/history.js';
import { CommitLog } from './engine/log.js';
import { clientOf, type Namespace, resolveNamespace } from './engine/namespace.js';
import { toMongoSessionError } from './errors.js';
import { type MongoSessionOptions, SESSION_OPTION_KEYS } from './options.js';
import { ensureIndexes, verifyIndexes } from './setup.js';

/**
 * Writers of one session sharing a client (or Db) take turns instead of racing each other for
 * the next `rev` (each lost race costs a read and a write); across clients and processes the
 * unique index still decides, so correctness never depends on it.
 */
const writeQueue = new SessionWriteQueue();

/** What a store hands its sessions (under a symbol: no option key, never public). */
export const STORE_LINK: unique symbol = Symbol('MongoSessionStore link');
export interface StoreLink {
  /** The store's running calls, which `close()` waits for. */
  inFlight: InFlight;
  /** Gets the store's own client ready before a call (connection.ts). */
  ready: () => Promise<void>;
}

/**
 * A session stored in MongoDB as a log of commits (see the README). Every change becomes
 * visible through one single-document write: a guarded upsert of the commit
 * `rev = head.rev + 1` that inserts only while no commit at or above that `rev` exists, so
 * with the unique index on `(sessionId, rev)` concurrent writers take turns. Around it come
 * only writes no reader depends on: overflow documents before it (linked by nothing until it
 * lands), expiry slides, and after it the cleanup of what it replaced. No multi-document
 * transaction: it is correct on a standalone server, a replica set, a sharded cluster (shard
 * key `{ sessionId: 1 }`), Atlas and FerretDB. The engine lives in `engine/`; this class only
 * maps the base class's primitives onto it.
 */
export class MongoSession extends BaseSession {
  /** Largest item (UTF-8 bytes of its JSON) that can be stored: 16 MiB minus 1 KiB. */
  static readonly maxItemBytes = MAX_ITEM_BYTES;
  readonly database: string;
  readonly collectionPrefix: string;
  /** `false`: never creates a collection or an index; see the store's option. */
  readonly #ns: Namespace;
  readonly #history: SessionHistory;
  readonly #link: StoreLink | undefined;

  constructor(options: MongoSessionOptions) {
    super(options, SESSION_OPTION_KEYS);
    this.#ns = resolveNamespace(options, 'MongoSession');
    this.database = this.#ns.database;
    this.collectionPrefix = this.#ns.collectionPrefix;
    this.#link = (options as { [STORE_LINK]?: StoreLink })[STORE_LINK];
    const beforeWrite = this.createIfMissing ? async () => {} : () => verifyIndexes(this.#ns, this.timeoutMs);
    // Retry loops stop once the call is over (its deadline passed). Not when the store closes:
    // `close()` lets the calls already running finish (it waits for them), so that a write it
    // let through is stored, and one it reports failed is not.
    this.#history = new SessionHistory(new CommitLog(this.#ns, this.sessionId, assertCallActive, beforeWrite), {
      sessionId: this.sessionId,
      ttlMs: this.ttlMs,
      assertActive: assertCallActive,
    });
  }

  /** Core refuses a bigger item before any I/O, in every operation (`applyHistoryMutations` too). */
  protected override get maxItemBytes(): number {
    return MAX_ITEM_BYTES;
  }

  /**
   * Creates the collections' indexes now, checking with the server even if this process
   * already did (otherwise done once, lazily, on first use).
   */
  async setup(): Promise<void> {
    this.assertOpen();
    await this.run('setup', () => ensureIndexes(this.#ns, this.timeoutMs, true));
  }

  /** The old name of `setup()`, kept as an alias. */
  ensureIndexes(): Promise<void> {
    return this.setup();
  }

  protected async readItems(limit: number | undefined): Promise<string[]> {
    await this.#prepare();
    return this.#history.read(limit);
  }

  protected async appendItems(items: string[]): Promise<void> {
    await this.#prepare();
    await this.#queued(() => this.#history.append(items, undefined));
  }

  protected async popLastItem(): Promise<string | undefined> {
    await this.#prepare();
    // A pop is a rewrite of the last item into nothing; a mismatch means there was none.
    const outcome = await this.#queued(() => this.#history.rewrite(1, undefined, [], undefined));
    return outcome.verdict === 'applied' ? outcome.tail.at(-1) : undefined;
  }

  protected async clearItems(): Promise<void> {
    await this.#prepare();
    await this.#queued(() => this.#history.clear());
  }

  protected async commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    await this.#prepare();
    const operation = { id: tx.operationId, fp: tx.fingerprint };
    const verdict = await this.#queued(async () =>
      tx.expectedSuffix.length === 0
        ? this.#history.append(tx.replacement, operation)
        : (await this.#history.rewrite(tx.expectedSuffix.length, tx.expectedSuffix, tx.replacement, operation)).verdict,
    );
    settleTransaction(verdict, tx.operationId);
  }

  protected async replaceAllItems(items: string[]): Promise<void> {
    await this.#prepare();
    await this.#queued(() => this.#history.replaceAll(items));
  }

  protected async readMetadata(): Promise<{ text: string; version: number } | undefined> {
    await this.#prepare();
    return this.#history.readMetadata();
  }

  /** Core merges and retries; this only stores, as one commit (see engine/history.ts). */
  protected async writeMetadata(update: MetadataWrite): Promise<boolean> {
    await this.#prepare();
    return this.#queued(() => this.#history.writeMetadata(update.expectedVersion, update.text));
  }

  /**
   * Every primitive runs as one call (call.ts): core's deadline, plus a signal on every command
   * it sends, aborted once the call is over. The client is made ready first (connection.ts), so
   * that a store heals by itself: the store's own client is connected (again) when needed; a
   * client you gave is only repaired when the driver left it unusable after a failed first
   * connection.
   */
  protected override run<T>(operation: string, primitive: () => Promise<T>): Promise<T> {
    return runCall(
      (body) => super.run(operation, body),
      async () => {
        await (this.#link ? this.#link.ready() : healBorrowed((this.#ns.db as Db & { client?: MongoClient }).client));
        return primitive();
      },
      this.#link?.inFlight,
    );
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toMongoSessionError(operation, error, { timeoutMs: this.timeoutMs, write: !isReadOperation(operation) });
  }

  /** Creates the indexes on first use, unless `createIfMissing` is false (then nothing is created). */
  async #prepare(): Promise<void> {
    if (this.createIfMissing) await ensureIndexes(this.#ns, this.timeoutMs);
  }

  #queued<T>(task: () => Promise<T>): Promise<T> {
    const key = `${this.database}\u0000${this.collectionPrefix}\u0000${this.sessionId}`;
    return writeQueue.run(clientOf(this.#ns), key, task);
  }
}
