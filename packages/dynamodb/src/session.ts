import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BaseSession,
  type EncodedHistoryTransaction,
  type MetadataWrite,
  type SessionError,
  settleTransaction,
  type TransactionVerdict,
  utf8ByteLength,
} from '@sessions/core';
import { needsCount, upgradeSession } from './engine/catalog.js';
import { type ChainItem, matchesSuffix, readSnapshot, type Snapshot } from './engine/chain.js';
import { type CommitPort, type CommitStep, commitStep, commitWithRetry, decided } from './engine/commit.js';
import { withBudget } from './engine/deadline.js';
import { freshGeneration } from './engine/expiry.js';
import { KnownMeta } from './engine/known-meta.js';
import { DEFAULT_TABLE_NAME, isLive, layoutItems, type Meta } from './engine/layout.js';
import { fitsInTransaction, planWrite, type WriteIntent } from './engine/plan.js';
import { SessionRequests } from './engine/requests.js';
import { countOf, type StagedWrite, stageWrite } from './engine/staged.js';
import { mismatchVerdict, type OperationRecord } from './engine/verdict.js';
import { toDynamoDBSessionError } from './errors.js';
import {
  type DynamoDBSessionOptions,
  resolveCreateTableAlias,
  SESSION_OPTION_KEYS,
  validateClient,
  validateTableName,
} from './options.js';
import { setupTable } from './setup.js';

/**
 * A conversation history in DynamoDB: one row per item (chunked above 350 KB) under the
 * session's partition, plus a metadata row every change goes through with a conditional
 * write. Readers follow the chain from the metadata row and so never see half a write. The
 * mechanics are in `engine/`; this class says what each primitive reads and plans.
 */
export class DynamoDBSession extends BaseSession {
  readonly tableName: string;
  readonly #client: DynamoDBClient;
  /** `createIfMissing`, or its alias `createTable`; default true. */
  override readonly createIfMissing: boolean;
  /** Size of a row's key, for the transaction byte budget. */
  readonly #keyBytes: number;
  readonly #requests: SessionRequests;
  readonly #port: CommitPort;
  readonly #known = new KnownMeta();

  constructor(options: DynamoDBSessionOptions) {
    super(options, SESSION_OPTION_KEYS);
    this.#client = validateClient(options.client);
    this.tableName = validateTableName(options.tableName ?? DEFAULT_TABLE_NAME);
    this.createIfMissing = resolveCreateTableAlias(options) ?? true;
    this.#keyBytes = utf8ByteLength(this.sessionId) + 20;
    const requests = new SessionRequests(
      this.#client,
      this.tableName,
      this.sessionId,
      this.createIfMissing ? () => setupTable(this.#client, this.tableName) : undefined,
    );
    this.#requests = requests;
    this.#port = {
      transact: (plan) => requests.transact(plan),
      stampRows: (state, kept) => requests.stampRows(state, kept),
      deleteRows: (seqs) => requests.deleteRows(seqs),
      remember: (meta) => this.#remember(meta),
    };
  }

  /** Creates the table if it is missing, waits until it is active and enables TTL (as the store's). */
  async setup(): Promise<void> {
    this.assertOpen();
    await this.run('setup', () => setupTable(this.#client, this.tableName));
  }

  /** The former name of {@link setup}, kept as an alias. */
  ensureTable(): Promise<void> {
    return this.setup();
  }

  // ---------------------------------------------------------------------------------------
  // Primitives

  protected async readItems(limit: number | undefined): Promise<string[]> {
    const { items } = await this.#snapshot(limit);
    return items.map((item) => item.text).reverse();
  }

  protected async appendItems(items: string[]): Promise<void> {
    await this.#exclusive(() => this.#append(items, undefined));
  }

  protected popLastItem(): Promise<string | undefined> {
    return this.#exclusive(() => this.#pop());
  }

  protected clearItems(): Promise<void> {
    return this.#exclusive(() => this.#clear());
  }

  protected async commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    const operation = { id: tx.operationId, fingerprint: tx.fingerprint };
    const verdict = await this.#exclusive(() =>
      tx.expectedSuffix.length === 0
        ? this.#append(tx.replacement, operation)
        : this.#replaceSuffix(tx.expectedSuffix, tx.replacement, operation),
    );
    settleTransaction(verdict, tx.operationId);
  }

  protected async replaceAllItems(items: string[]): Promise<void> {
    await this.#exclusive(() => this.#replaceAll(items));
  }

  /** One consistent read of the metadata row; nothing for a session that is gone or expired. */
  protected async readMetadata(): Promise<{ text: string; version: number } | undefined> {
    const meta = await this.#requests.getMeta();
    this.#remember(meta);
    return isLive(meta, Date.now()) ? { text: meta.labels, version: meta.labelsVersion } : undefined;
  }

  /**
   * The metadata goes through the same conditional transaction as every write (so the TTL slides
   * and the catalog entry moves with it); `false` when another metadata write came first. A
   * concurrent item write only makes it plan again.
   */
  protected writeMetadata(update: MetadataWrite): Promise<boolean> {
    return this.#exclusive(() =>
      commitWithRetry<boolean>(this.#port, {
        plan: async () => {
          const base = await this.#countedMeta();
          const now = Date.now();
          const live = isLive(base, now);
          if ((live ? base.labelsVersion : 0) !== update.expectedVersion) return decided(false);
          const top = live ? base.top : -1;
          return this.#commit(true, {
            now,
            base,
            requireLive: live,
            generation: live ? base.generation : freshGeneration(base, now),
            top,
            nextSeq: base?.nextSeq ?? 0,
            kept: top,
            puts: [],
            itemCount: countOf(base, now),
            labels: update.text,
          });
        },
      }),
    );
  }

  /**
   * Core's deadline (`timeoutMs`), plus the call's abort signal on every request the primitive
   * sends: once the call settles, nothing it left behind keeps a socket or retries.
   */
  protected override run<T>(operation: string, primitive: () => Promise<T>): Promise<T> {
    return withBudget(this.timeoutMs, (bounded) => super.run(operation, bounded), primitive);
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    return toDynamoDBSessionError(operation, error, {
      tableName: this.tableName,
      createIfMissing: this.createIfMissing,
    });
  }

  // ---------------------------------------------------------------------------------------
  // Write paths: each plans one attempt; commitWithRetry commits it or asks again.

  /** New rows on top of the live history (or of a fresh generation when it expired). */
  #append(texts: string[], operation: OperationRecord | undefined): Promise<TransactionVerdict> {
    return commitWithRetry<TransactionVerdict>(this.#port, {
      plan: async () => {
        const base = await this.#countedMeta();
        const now = Date.now();
        const live = isLive(base, now);
        const kept = live ? base.top : -1;
        const layout = layoutItems(texts, base?.nextSeq ?? 0, kept, this.#keyBytes);
        if (!fitsInTransaction(layout.rows, operation)) {
          return decided(await this.#staged({ mode: 'append', texts, operation, expected: [] }));
        }
        const generation = live ? base.generation : freshGeneration(base, now);
        const { top, nextSeq, rows: puts } = layout;
        return this.#commit('applied', {
          now,
          base,
          requireLive: live,
          generation,
          top,
          nextSeq,
          kept,
          puts,
          operation,
          itemCount: countOf(base, now) + texts.length,
        });
      },
      recorded: async (verdict) => verdict,
    });
  }

  /** Reads the newest item and deletes its rows in one conditional transaction. */
  #pop(): Promise<string | undefined> {
    return commitWithRetry<string | undefined>(this.#port, {
      plan: async () => {
        const { meta, items } = await this.#snapshot(1);
        if (await this.#upgraded(meta)) return { kind: 'again' };
        const item = items[0];
        if (!item || !meta) return decided(undefined);
        return this.#commit(item.text, {
          now: Date.now(),
          base: meta,
          requireLive: true,
          generation: meta.generation as number,
          top: item.prev,
          nextSeq: meta.nextSeq,
          kept: item.prev,
          puts: [],
          deletes: item.rows,
          itemCount: (meta.itemCount as number) - 1,
        });
      },
    });
  }

  /** Swaps the newest items, if they are still `expected`, for `replacement`. */
  #replaceSuffix(expected: string[], replacement: string[], operation: OperationRecord): Promise<TransactionVerdict> {
    const count = expected.length;
    return commitWithRetry<TransactionVerdict>(this.#port, {
      plan: async () => {
        const snapshot = await this.#snapshot(count);
        if (await this.#upgraded(snapshot.meta)) return { kind: 'again' };
        if (!matchesSuffix(snapshot.items, expected)) {
          const verdict = await this.#mismatch(snapshot, operation);
          return verdict === undefined ? { kind: 'again' } : decided(verdict);
        }
        const base = snapshot.meta as Meta;
        const kept = (snapshot.items[count - 1] as ChainItem).prev;
        const { top, nextSeq, rows: puts } = layoutItems(replacement, base.nextSeq, kept, this.#keyBytes);
        if (!fitsInTransaction(puts, operation)) {
          return decided(await this.#staged({ mode: 'replaceSuffix', texts: replacement, operation, expected }));
        }
        const deletes = snapshot.items.slice(0, count).flatMap((item) => item.rows);
        const generation = base.generation as number;
        return this.#commit('applied', {
          now: Date.now(),
          base,
          requireLive: true,
          generation,
          top,
          nextSeq,
          kept,
          puts,
          deletes,
          operation,
          itemCount: (base.itemCount as number) - count + replacement.length,
        });
      },
      recorded: async (verdict) => verdict,
    });
  }

  /** The whole history as a chain of its own; the old rows are deleted after the commit. */
  #replaceAll(items: string[]): Promise<void> {
    return commitWithRetry<void>(this.#port, {
      plan: async () => {
        const base = await this.#knownMeta();
        const now = Date.now();
        const live = isLive(base, now);
        const firstSeq = base?.nextSeq ?? 0;
        const { top, nextSeq, rows: puts } = layoutItems(items, firstSeq, -1, this.#keyBytes);
        if (!fitsInTransaction(puts, undefined)) {
          await this.#staged({ mode: 'replaceAll', texts: items, operation: undefined, expected: [] });
          return decided(undefined);
        }
        const generation = live ? base.generation : freshGeneration(base, now);
        // The count is the new history's: an old row needs no counting here.
        const intent = {
          now,
          base,
          requireLive: live,
          generation,
          top,
          nextSeq,
          kept: -1,
          puts,
          itemCount: items.length,
        };
        return this.#commit(undefined, intent, () => this.#requests.deleteDeadBelow(firstSeq));
      },
    });
  }

  /**
   * One `UpdateItem` empties the history for every reader at once; then every row it left
   * behind (older rows, operation ids of older generations) is deleted.
   */
  async #clear(): Promise<void> {
    const meta = await this.#requests.clearMeta(Date.now(), this.ttlSeconds);
    this.#remember(meta);
    if (meta) await this.#requests.deleteCleared(meta);
  }

  /** A write too large for one transaction: staged, then linked (engine/staged.ts). */
  #staged(write: StagedWrite): Promise<TransactionVerdict> {
    return stageWrite(write, {
      requests: this.#requests,
      port: this.#port,
      keyBytes: this.#keyBytes,
      ttlSeconds: () => this.ttlSeconds,
      remember: (meta) => this.#remember(meta),
      snapshot: (limit) => this.#snapshot(limit),
      upgraded: (meta) => this.#upgraded(meta),
      mismatch: (snapshot, operation) => this.#mismatch(snapshot, operation),
      replaceSuffix: (expected, texts, operation) => this.#replaceSuffix(expected, texts, operation),
      knownMeta: () => this.#knownMeta(),
      countedMeta: () => this.#countedMeta(),
      commit: (result, intent, cleanup) => this.#commit(result, intent, cleanup),
    });
  }

  /** A step that commits `intent` (with this handle's TTL), then returns `result`. */
  #commit<T>(result: T, intent: Omit<WriteIntent, 'ttlSeconds'>, cleanup?: () => Promise<void>): CommitStep<T> {
    return commitStep(result, planWrite({ ...intent, ttlSeconds: this.ttlSeconds }), cleanup);
  }

  /**
   * The suffix did not match. One serializable read of the metadata and the operation-id row
   * decides (see `mismatchVerdict`); undefined asks for a re-read.
   */
  async #mismatch(snapshot: Snapshot, operation: OperationRecord): Promise<TransactionVerdict | undefined> {
    const { meta, recorded } = await this.#requests.metaAndOperation(operation.id);
    this.#remember(meta);
    return mismatchVerdict({ meta, recorded, operation, readVersion: snapshot.meta?.version, now: Date.now() });
  }

  // ---------------------------------------------------------------------------------------
  // Reads, and the metadata this handle knows (engine/known-meta.ts)

  /** The newest `limit` items (all when undefined), newest first, as one consistent state. */
  async #snapshot(limit: number | undefined): Promise<Snapshot> {
    const snapshot = await readSnapshot(limit, this.#requests.chainPage, {
      keyBytes: this.#keyBytes,
      tableName: this.tableName,
    });
    this.#remember(snapshot.meta);
    return snapshot;
  }

  #knownMeta(): Promise<Meta | undefined> {
    return this.#known.current(() => this.#requests.getMeta());
  }

  /** The known metadata, with an item count: a row of a release before the catalog is counted first. */
  async #countedMeta(): Promise<Meta | undefined> {
    const meta = await this.#knownMeta();
    if (!needsCount(meta, Date.now())) return meta;
    const upgraded = await upgradeSession(this.#requests, { keyBytes: this.#keyBytes, tableName: this.tableName });
    this.#remember(upgraded);
    return upgraded;
  }

  /** True when `meta` had to be counted first (the caller then reads again). */
  async #upgraded(meta: Meta | undefined): Promise<boolean> {
    if (!needsCount(meta, Date.now())) return false;
    this.#remember(await upgradeSession(this.#requests, { keyBytes: this.#keyBytes, tableName: this.tableName }));
    return true;
  }

  #remember(meta: Meta | undefined): void {
    this.#known.remember(meta);
  }

  #exclusive<T>(write: () => Promise<T>): Promise<T> {
    return this.#known.exclusive(this.#client, `${this.tableName}\u0000${this.sessionId}`, write);
  }
}
