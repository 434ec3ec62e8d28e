import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactGetItemsCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  BaseSession,
  type BaseSessionOptions,
  DEFAULT_OPERATION_RETENTION_SECONDS,
  type EncodedHistoryTransaction,
  isConnectionError,
  SessionConflictError,
  SessionConnectionError,
  SessionCorruptDataError,
  type SessionError,
  SessionStorageError,
  SessionValidationError,
  SessionWriteQueue,
  utf8ByteLength,
} from '@sessions/core';
import {
  A,
  DEFAULT_TABLE_NAME,
  ITEM_SK_MIN,
  ITEM_SK_PREFIX,
  isLive,
  itemRow,
  itemSk,
  layoutItems,
  M,
  META_SK,
  type Meta,
  type MetaState,
  metaRow,
  n,
  num,
  OP_SK_PREFIX,
  opSk,
  PARTITION_KEY,
  parseMeta,
  ROW_OVERHEAD,
  type Row,
  type RowSpec,
  SORT_KEY,
  seqOf,
  TTL_ATTRIBUTE,
  toMeta,
} from './layout.js';
import {
  backoff,
  errorName,
  inParallel,
  MAX_THROTTLE_ATTEMPTS,
  RETRYABLE_ERRORS,
  RETRYABLE_REASONS,
  sleep,
} from './retry.js';
import { ensureTable, validateTableName } from './table.js';

/** DynamoDB allows at most 100 actions in one `TransactWriteItems`. */
export const MAX_TRANSACTION_ACTIONS = 100;
/**
 * Budget for the items one transaction writes. DynamoDB refuses a payload over 4 MB
 * (4,194,304 bytes); rows are counted generously (text + key + {@link ROW_OVERHEAD}).
 */
export const MAX_TRANSACTION_BYTES = 4_000_000;
/**
 * Rows carry a DynamoDB TTL this long past the session's own expiry (at least one day, at
 * least the TTL itself), so that sliding the expiry on every write rarely has to touch old rows.
 */
const ROW_TTL_SLACK_SECONDS = 86_400;
/** Old rows are re-stamped when their TTL would come within this margin of the session's expiry. */
const ROW_TTL_MARGIN_SECONDS = 3_600;
/** Writes that lost a race re-read and try again this many times before giving up. */
const MAX_WRITE_ATTEMPTS = 100;
/** Large batches are staged again at most this many times when concurrent writes keep winning. */
const MAX_STAGE_ATTEMPTS = 5;
/** Reads that caught a write half-applied read again this many times. */
const MAX_READ_ATTEMPTS = 12;
const BATCH_WRITE_SIZE = 25;
const MAX_PAGE_LIMIT = 1_000_000;
const PARALLEL_REQUESTS = 4;
const META_BYTES = 600;

/** In-process writers of one session hand the metadata they wrote to the next one. */
const writeQueue = new SessionWriteQueue<{ meta: Meta | undefined; known: boolean }>(() => ({
  meta: undefined,
  known: false,
}));

export interface DynamoDBSessionOptions extends BaseSessionOptions {
  /** A `DynamoDBClient` from `@aws-sdk/client-dynamodb` (v3). The session never destroys it. */
  client: DynamoDBClient;
  /** Table holding the sessions (default `agent_sessions`). */
  tableName?: string;
  /**
   * Create the table (and enable TTL) when a request finds it missing (default `true`). Set it
   * to `false` where the table comes from infrastructure code and the role may not create one.
   */
  createTable?: boolean;
}

/** One conversation item as read from the chain. */
interface ChainItem {
  text: string;
  /** Every chain row of the item (its chunks and any batch header right above it). */
  rows: Deletion[];
  /** The chain row below the item, or -1. */
  prev: number;
}

interface Deletion {
  seq: number;
  /** Upper bound of the row's size, for the transaction budget. */
  bytes: number;
}

interface Snapshot {
  meta: Meta | undefined;
  /** Newest first. */
  items: ChainItem[];
}

type ReadAttempt = Snapshot | { inconsistent: true; version: number | undefined };

interface OperationRecord {
  id: string;
  fingerprint: string;
}

interface TransactionPlan {
  /** The metadata the plan was computed from; the write is refused if it changed. */
  base: Meta | undefined;
  /** Also refuse if the base expired meanwhile (the plan relies on the history being live). */
  requireLive: boolean;
  next: MetaState;
  puts: RowSpec[];
  deletes: Deletion[];
  operation?: OperationRecord;
}

type TransactionOutcome =
  | { kind: 'committed'; overflow: number[] }
  | { kind: 'meta-changed'; meta: Meta | undefined }
  | { kind: 'operation-recorded'; fingerprint: string }
  | { kind: 'busy' };

/**
 * A conversation history in DynamoDB: one row per item (chunked above 350 KB) under the
 * session's partition, plus a metadata row every change goes through with a conditional
 * write. Readers follow the chain from the metadata row and so never see half a write.
 */
export class DynamoDBSession extends BaseSession {
  readonly tableName: string;
  readonly #client: DynamoDBClient;
  readonly #createTable: boolean;
  readonly #keyBytes: number;
  /** The metadata this handle last saw (undefined = no row); only valid when #metaKnown. */
  #meta: Meta | undefined;
  #metaKnown = false;

  constructor(options: DynamoDBSessionOptions) {
    super(options);
    const client = options.client as unknown;
    if (client === null || typeof client !== 'object' || typeof (client as DynamoDBClient).send !== 'function') {
      throw new SessionValidationError('client must be a DynamoDBClient from @aws-sdk/client-dynamodb');
    }
    this.#client = options.client;
    this.tableName = validateTableName(options.tableName ?? DEFAULT_TABLE_NAME);
    this.#createTable = options.createTable ?? true;
    this.#keyBytes = utf8ByteLength(this.sessionId) + 20;
  }

  /** Creates the table if it is missing, waits until it is active and enables TTL. */
  async ensureTable(): Promise<void> {
    this.assertOpen();
    await this.run('ensureTable', () => ensureTable(this.#client, this.tableName));
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

  async #pop(): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      const { meta, items } = await this.#snapshot(1);
      const item = items[0];
      if (!item || !meta) return undefined;
      const now = Date.now();
      const { state, refresh } = this.#nextMeta(meta, now, {
        generation: meta.generation as number,
        top: item.prev,
        nextSeq: meta.nextSeq,
        kept: item.prev,
        writesRows: false,
      });
      if (refresh) await this.#refreshRowExpiry(state, item.prev);
      const outcome = await this.#transact({
        base: meta,
        requireLive: true,
        next: state,
        puts: [],
        deletes: item.rows,
      });
      if (outcome.kind === 'committed') {
        await this.#afterCommit(state, outcome.overflow);
        return item.text;
      }
      await this.#lost('popItem', outcome, attempt);
    }
  }

  protected clearItems(): Promise<void> {
    return this.#exclusive(() => this.#clear());
  }

  async #clear(): Promise<void> {
    const now = Date.now();
    let row: Row | undefined;
    try {
      const result = await this.#call(() =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.#key(META_SK),
            UpdateExpression:
              'SET #top = :none, #updated = :now, #g = if_not_exists(#g, :now) + :one ADD #v :one REMOVE #expMs, #rowsExp',
            ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: {
              '#top': M.top,
              '#updated': M.updatedAt,
              '#g': M.generation,
              '#v': M.version,
              '#expMs': M.expiresAtMs,
              '#rowsExp': M.rowsExpireAt,
              '#pk': PARTITION_KEY,
            },
            ExpressionAttributeValues: { ':none': n(-1), ':now': n(now), ':one': n(1) },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      row = result.Attributes;
    } catch (error) {
      // No metadata row: the history is already empty for every reader.
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      this.#remember(undefined);
      return;
    }
    const meta = parseMeta(row) as Meta;
    this.#remember(meta);
    // Every item row allocated before the clear is dead (later writes get higher sequence
    // numbers), and so is every operation id of an older generation.
    await this.#deleteWhere(
      (sk, generation) =>
        (sk.startsWith(ITEM_SK_PREFIX) && seqOf(sk) < meta.nextSeq) ||
        (sk.startsWith(OP_SK_PREFIX) && (generation === undefined || generation < (meta.generation as number))),
    );
  }

  protected commitTransaction(tx: EncodedHistoryTransaction): Promise<void> {
    const operation = { id: tx.operationId, fingerprint: tx.fingerprint };
    return this.#exclusive(() =>
      tx.expectedSuffix.length === 0 ? this.#append(tx.replacement, operation) : this.#replaceSuffix(tx, operation),
    );
  }

  protected replaceAllItems(items: string[]): Promise<void> {
    return this.#exclusive(() => this.#replaceAll(items));
  }

  async #replaceAll(items: string[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const base = await this.#knownMeta();
      const now = Date.now();
      const live = isLive(base, now);
      const generation = live ? base.generation : freshGeneration(base, now);
      const firstSeq = base?.nextSeq ?? 0;
      const layout = layoutItems(items, firstSeq, -1, this.#keyBytes);
      if (!fitsInTransaction(layout.rows, undefined)) {
        await this.#staged('replaceAll', items, undefined);
        return;
      }
      const { state } = this.#nextMeta(base, now, {
        generation,
        top: layout.top,
        nextSeq: layout.nextSeq,
        kept: -1,
        writesRows: layout.rows.length > 0,
      });
      const outcome = await this.#transact({ base, requireLive: live, next: state, puts: layout.rows, deletes: [] });
      if (outcome.kind === 'committed') {
        this.#remember(toMeta(state));
        await this.#bestEffort(() => this.#deleteDeadBelow(firstSeq));
        return;
      }
      await this.#lost('replaceHistoryWithCompaction', outcome, attempt);
    }
  }

  protected override toSessionError(operation: string, error: unknown): SessionError {
    if (isConnectionError(error)) return new SessionConnectionError(operation, error);
    if (errorName(error) === 'ResourceNotFoundException') {
      const hint = this.#createTable ? '' : ' (createTable is false: create it, or call ensureTable())';
      return new SessionStorageError(
        operation,
        error,
        'STORAGE',
        `table ${this.tableName} does not exist${hint}: ${(error as Error).message}`,
      );
    }
    return new SessionStorageError(operation, error);
  }

  // ---------------------------------------------------------------------------------------
  // Writes

  async #append(texts: string[], operation: OperationRecord | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const base = await this.#knownMeta();
      const now = Date.now();
      const live = isLive(base, now);
      const generation = live ? base.generation : freshGeneration(base, now);
      const prevTop = live ? base.top : -1;
      const layout = layoutItems(texts, base?.nextSeq ?? 0, prevTop, this.#keyBytes);
      if (!fitsInTransaction(layout.rows, operation)) {
        await this.#staged('append', texts, operation);
        return;
      }
      const { state, refresh } = this.#nextMeta(base, now, {
        generation,
        top: layout.top,
        nextSeq: layout.nextSeq,
        kept: prevTop,
        writesRows: layout.rows.length > 0,
      });
      if (refresh) await this.#refreshRowExpiry(state, prevTop);
      const outcome = await this.#transact({
        base,
        requireLive: live,
        next: state,
        puts: layout.rows,
        deletes: [],
        operation,
      });
      if (outcome.kind === 'committed') {
        await this.#afterCommit(state, outcome.overflow);
        return;
      }
      if (outcome.kind === 'operation-recorded') return settleRecorded(operation, outcome.fingerprint);
      await this.#lost('addItems', outcome, attempt);
    }
  }

  async #replaceSuffix(tx: EncodedHistoryTransaction, operation: OperationRecord): Promise<void> {
    const count = tx.expectedSuffix.length;
    for (let attempt = 0; ; attempt++) {
      const snapshot = await this.#snapshot(count);
      const { meta, items } = snapshot;
      if (!matchesSuffix(items, tx.expectedSuffix)) {
        if (await this.#refuseMismatch(snapshot, operation)) return;
        continue; // the history changed between the two reads: look again
      }
      const base = meta as Meta;
      const kept = (items[count - 1] as ChainItem).prev;
      const layout = layoutItems(tx.replacement, base.nextSeq, kept, this.#keyBytes);
      if (!fitsInTransaction(layout.rows, operation)) {
        await this.#staged('replaceSuffix', tx.replacement, operation, tx.expectedSuffix);
        return;
      }
      const now = Date.now();
      const { state, refresh } = this.#nextMeta(base, now, {
        generation: base.generation as number,
        top: layout.top,
        nextSeq: layout.nextSeq,
        kept,
        writesRows: layout.rows.length > 0,
      });
      if (refresh) await this.#refreshRowExpiry(state, kept);
      const outcome = await this.#transact({
        base,
        requireLive: true,
        next: state,
        puts: layout.rows,
        deletes: items.slice(0, count).flatMap((item) => item.rows),
        operation,
      });
      if (outcome.kind === 'committed') {
        await this.#afterCommit(state, outcome.overflow);
        return;
      }
      if (outcome.kind === 'operation-recorded') return settleRecorded(operation, outcome.fingerprint);
      await this.#lost('applyHistoryTransaction', outcome, attempt);
    }
  }

  /**
   * The suffix did not match. Before saying so, check in one serializable read that the
   * operation id is not recorded (a retry of an applied transaction must succeed) and that
   * the metadata is still the one the suffix was read under. Returns true when this very
   * transaction was applied before, false to ask for a re-read; throws the conflict otherwise.
   */
  async #refuseMismatch(snapshot: Snapshot, operation: OperationRecord): Promise<boolean> {
    const result = await this.#call(() =>
      this.#client.send(
        new TransactGetItemsCommand({
          TransactItems: [
            { Get: { TableName: this.tableName, Key: this.#key(META_SK) } },
            { Get: { TableName: this.tableName, Key: this.#key(opSk(operation.id)) } },
          ],
        }),
      ),
    );
    const meta = parseMeta(result.Responses?.[0]?.Item);
    const recorded = result.Responses?.[1]?.Item;
    const now = Date.now();
    if (recorded && isLive(meta, now)) {
      const fresh = (num(recorded[A.recordedAt]) ?? 0) > now - DEFAULT_OPERATION_RETENTION_SECONDS * 1000;
      if (fresh && num(recorded[A.generation]) === meta.generation) {
        settleRecorded(operation, recorded[A.fingerprint]?.S ?? '');
        return true;
      }
    }
    this.#remember(meta);
    if (meta?.version === snapshot.meta?.version) {
      throw new SessionConflictError('suffix_mismatch', 'The history no longer ends with the expected suffix');
    }
    return false;
  }

  /**
   * Writes that do not fit in one transaction (more than ~98 rows, or over 4 MB): reserve a
   * range of sequence numbers with an atomic `ADD`, write the rows there (invisible: nothing
   * links to them yet), then link them into the chain with one conditional transaction on
   * the metadata row. A crash before that last step leaves only unreachable rows.
   */
  async #staged(
    mode: 'append' | 'replaceAll' | 'replaceSuffix',
    texts: string[],
    operation: OperationRecord | undefined,
    expectedSuffix: string[] = [],
  ): Promise<void> {
    const header = mode !== 'replaceAll';
    const label =
      mode === 'replaceAll' ? 'replaceHistoryWithCompaction' : operation ? 'applyHistoryTransaction' : 'addItems';
    for (let stage = 0; ; stage++) {
      // 1. Reserve.
      const probe = layoutItems(texts, 0, -1, this.#keyBytes);
      const count = probe.rows.length + (header ? 1 : 0);
      const reserved = await this.#reserve(count);
      const start = reserved.nextSeq - count;
      const reservedAt = Date.now();
      const generation = isLive(reserved, reservedAt) ? reserved.generation : freshGeneration(reserved, reservedAt);
      const layout = layoutItems(texts, header ? start + 1 : start, header ? start : -1, this.#keyBytes);
      const rowExpiresAt = this.#expiry(reservedAt)?.rowExpiresAt;
      // 2. Stage.
      await this.#batchWrite(
        layout.rows.map((spec) => ({
          PutRequest: { Item: itemRow(this.sessionId, generation, spec, rowExpiresAt) },
        })),
      );
      // 3. Link, as long as the staged rows still fit on top of the current history.
      let base: Meta | undefined = reserved;
      for (let attempt = 0; ; attempt++) {
        let kept: number;
        let deletes: Deletion[] = [];
        if (mode === 'replaceSuffix') {
          const snapshot = await this.#snapshot(expectedSuffix.length);
          if (!matchesSuffix(snapshot.items, expectedSuffix)) {
            await this.#deleteRows(layout.rows.map((row) => row.seq));
            if (await this.#refuseMismatch(snapshot, operation as OperationRecord)) return;
            return this.#replaceSuffixAgain(texts, operation as OperationRecord, expectedSuffix);
          }
          base = snapshot.meta;
          kept = (snapshot.items[expectedSuffix.length - 1] as ChainItem).prev;
          deletes = snapshot.items.slice(0, expectedSuffix.length).flatMap((item) => item.rows);
        } else {
          kept = isLive(base, Date.now()) ? base.top : -1;
        }
        const now = Date.now();
        const live = isLive(base, now);
        const usable = isLive(base, now)
          ? base.generation === generation && (mode === 'replaceAll' || kept < start)
          : generation > (base?.generation ?? Number.NEGATIVE_INFINITY);
        if (!usable) break; // restage
        const { state, refresh } = this.#nextMeta(base, now, {
          generation,
          top: layout.top,
          nextSeq: Math.max(base?.nextSeq ?? 0, start + count),
          kept: mode === 'replaceAll' ? -1 : kept,
          writesRows: true,
        });
        if (refresh) await this.#refreshRowExpiry(state, kept);
        const puts: RowSpec[] = header ? [{ seq: start, prev: kept, bytes: this.#keyBytes + ROW_OVERHEAD }] : [];
        const outcome = await this.#transact({ base, requireLive: live, next: state, puts, deletes, operation });
        if (outcome.kind === 'committed') {
          await this.#afterCommit(state, outcome.overflow);
          if (mode === 'replaceAll') await this.#bestEffort(() => this.#deleteDeadBelow(start));
          return;
        }
        if (outcome.kind === 'operation-recorded') {
          await this.#deleteRows(layout.rows.map((row) => row.seq));
          return settleRecorded(operation, outcome.fingerprint);
        }
        if (outcome.kind === 'meta-changed') base = outcome.meta;
        if (attempt >= MAX_WRITE_ATTEMPTS) break;
        await sleep(backoff(attempt));
      }
      await this.#deleteRows(layout.rows.map((row) => row.seq));
      if (stage + 1 >= MAX_STAGE_ATTEMPTS) {
        throw new SessionStorageError(
          label,
          new Error(`concurrent writes to session kept invalidating a batch of ${count} rows; nothing was written`),
        );
      }
      await sleep(backoff(stage, 50));
    }
  }

  /** After a staged replace_suffix lost its suffix: the whole transaction is decided again. */
  async #replaceSuffixAgain(texts: string[], operation: OperationRecord, expectedSuffix: string[]): Promise<void> {
    await this.#replaceSuffix(
      { operationId: operation.id, fingerprint: operation.fingerprint, expectedSuffix, replacement: texts },
      operation,
    );
  }

  async #reserve(count: number): Promise<Meta> {
    const result = await this.#call(() =>
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.#key(META_SK),
          UpdateExpression: 'ADD #next :count, #v :one',
          ExpressionAttributeNames: { '#next': M.nextSeq, '#v': M.version },
          ExpressionAttributeValues: { ':count': n(count), ':one': n(1) },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    const meta = parseMeta(result.Attributes) as Meta;
    this.#remember(meta);
    return meta;
  }

  /**
   * Computes the metadata after a write: version, TTL slid from now, the rows' TTL floor.
   * `kept` is the newest row the write keeps (-1: none). `refresh` says those rows must be
   * stamped again ({@link #refreshRowExpiry}) before the write commits; the floor in `state`
   * already counts on it.
   */
  #nextMeta(
    base: Meta | undefined,
    now: number,
    change: { generation: number; top: number; nextSeq: number; kept: number; writesRows: boolean },
  ): { state: MetaState; refresh: boolean } {
    const expiry = this.#expiry(now);
    // Rows kept from before carry a TTL that would delete them before the session expires
    // (or at all, when this handle keeps sessions forever): they are stamped again first.
    const floor = change.kept >= 0 ? base?.rowsExpireAt : undefined;
    const refresh =
      floor !== undefined &&
      (expiry === undefined || floor < Math.ceil(expiry.expiresAtMs / 1000) + ROW_TTL_MARGIN_SECONDS);
    // Stamped rows carry the new TTL (the margin covers rows staged or stamped a little earlier).
    const keptFloor = refresh && expiry ? expiry.rowExpiresAt - ROW_TTL_MARGIN_SECONDS : refresh ? undefined : floor;
    const newFloor = change.writesRows ? expiry?.rowExpiresAt : undefined;
    const rowsExpireAt =
      keptFloor === undefined ? newFloor : newFloor === undefined ? keptFloor : Math.min(keptFloor, newFloor);
    const keepsCreation = base?.generation === change.generation && base.createdAt !== undefined;
    const state: MetaState = {
      version: (base?.version ?? 0) + 1,
      generation: change.generation,
      top: change.top,
      nextSeq: change.nextSeq,
      createdAt: keepsCreation ? (base.createdAt as number) : now,
      updatedAt: now,
      expiresAtMs: expiry?.expiresAtMs,
      expiresAt: expiry?.rowExpiresAt,
      rowsExpireAt,
    };
    return { state, refresh };
  }

  #expiry(now: number): { expiresAtMs: number; rowExpiresAt: number } | undefined {
    const ttlMs = this.ttlMs;
    if (ttlMs === undefined) return undefined;
    const expiresAtMs = now + ttlMs;
    const slack = Math.max(Math.ceil(this.ttlSeconds as number), ROW_TTL_SLACK_SECONDS);
    return { expiresAtMs, rowExpiresAt: Math.ceil(expiresAtMs / 1000) + slack };
  }

  async #transact(plan: TransactionPlan): Promise<TransactionOutcome> {
    const { base, next, operation } = plan;
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    let condition: string;
    if (base === undefined) {
      condition = 'attribute_not_exists(#pk)';
      names['#pk'] = PARTITION_KEY;
    } else {
      condition = '#v = :v';
      names['#v'] = M.version;
      values[':v'] = n(base.version);
      if (plan.requireLive && base.expiresAtMs !== undefined) {
        condition += ' AND #expMs > :now';
        names['#expMs'] = M.expiresAtMs;
        values[':now'] = n(Date.now());
      }
    }
    const actions: TransactWriteItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: metaRow(this.sessionId, next),
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ];
    let bytes = META_BYTES;
    if (operation) {
      const at = Date.now();
      actions.push({
        Put: {
          TableName: this.tableName,
          Item: {
            ...this.#key(opSk(operation.id)),
            [A.fingerprint]: { S: operation.fingerprint },
            [A.recordedAt]: n(at),
            [A.generation]: n(next.generation),
            [TTL_ATTRIBUTE]: n(Math.ceil(at / 1000) + DEFAULT_OPERATION_RETENTION_SECONDS),
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #g <> :g OR #at < :cutoff',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#g': A.generation, '#at': A.recordedAt },
          ExpressionAttributeValues: {
            ':g': n(next.generation),
            ':cutoff': n(at - DEFAULT_OPERATION_RETENTION_SECONDS * 1000),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      });
      bytes += META_BYTES;
    }
    for (const spec of plan.puts) {
      actions.push({
        Put: { TableName: this.tableName, Item: itemRow(this.sessionId, next.generation, spec, next.expiresAt) },
      });
      bytes += spec.bytes;
    }
    // Deleted rows are already off the chain once the metadata changes, so the ones that do
    // not fit in this transaction are deleted right after it.
    const overflow: number[] = [];
    for (const deletion of plan.deletes) {
      if (actions.length < MAX_TRANSACTION_ACTIONS && bytes + deletion.bytes <= MAX_TRANSACTION_BYTES) {
        actions.push({ Delete: { TableName: this.tableName, Key: this.#key(itemSk(deletion.seq)) } });
        bytes += deletion.bytes;
      } else overflow.push(deletion.seq);
    }
    try {
      await this.#call(() => this.#client.send(new TransactWriteItemsCommand({ TransactItems: actions })));
      return { kind: 'committed', overflow };
    } catch (error) {
      if (errorName(error) !== 'TransactionCanceledException') throw error;
      const reasons = (error as { CancellationReasons?: { Code?: string; Item?: Row }[] }).CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed')
        return { kind: 'meta-changed', meta: parseMeta(reasons[0].Item) };
      if (operation && reasons[1]?.Code === 'ConditionalCheckFailed') {
        return { kind: 'operation-recorded', fingerprint: reasons[1].Item?.[A.fingerprint]?.S ?? '' };
      }
      if (reasons.some((reason) => RETRYABLE_REASONS.has(reason.Code ?? ''))) return { kind: 'busy' };
      throw error;
    }
  }

  /** A write lost a race: remember what won and pause briefly before trying again. */
  async #lost(operation: string, outcome: TransactionOutcome, attempt: number): Promise<void> {
    if (outcome.kind === 'meta-changed') this.#remember(outcome.meta);
    if (attempt + 1 >= MAX_WRITE_ATTEMPTS) {
      throw new SessionStorageError(
        operation,
        new Error(`the session changed on each of ${MAX_WRITE_ATTEMPTS} attempts; nothing was written`),
      );
    }
    await sleep(backoff(attempt, 5, 200));
  }

  /**
   * What follows a committed write. Nothing here may fail the write: it is stored, and a caller
   * told otherwise would retry it (an `addItems` twice). The overflow rows are already off the
   * chain, so deleting them is best effort (left over, they go with the next `clearSession()`
   * or with DynamoDB's TTL).
   */
  async #afterCommit(state: MetaState, overflow: number[]): Promise<void> {
    this.#remember(toMeta(state));
    if (overflow.length > 0) await this.#bestEffort(() => this.#deleteRows(overflow));
  }

  /** Runs cleanup whose failure must not fail the operation that committed before it. */
  async #bestEffort(cleanup: () => Promise<void>): Promise<void> {
    try {
      await cleanup();
    } catch {
      // The rows are unreachable already; they only take space until cleared or expired.
    }
  }

  /**
   * Stamps every row of the history up to `kept` with the TTL of the write about to commit (or
   * removes it when this handle keeps sessions forever). It runs BEFORE the commit, so a write
   * only commits a later expiry once the rows it keeps outlive it; a failure here fails the
   * write with nothing committed. A TTL only ever moves later (a row without one keeps none), so
   * a stamp by a write that then loses its race, or a concurrent handle's stamp, never shortens
   * a row's life below what another write committed. Runs at most about once per day of
   * activity (see ROW_TTL_SLACK_SECONDS), costing one `UpdateItem` per row.
   */
  async #refreshRowExpiry(state: MetaState, kept: number): Promise<void> {
    if (kept < 0) return;
    const seqs: number[] = [];
    await this.#scan(itemSk(kept), (row) => {
      const sk = row[SORT_KEY]?.S ?? '';
      if (num(row[A.generation]) === state.generation) seqs.push(seqOf(sk));
    });
    const ttl = state.expiresAt;
    await inParallel(seqs, PARALLEL_REQUESTS * 2, async (seq) => {
      try {
        await this.#call(() =>
          this.#client.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: this.#key(itemSk(seq)),
              UpdateExpression: ttl === undefined ? 'REMOVE #ttl' : 'SET #ttl = :ttl',
              ConditionExpression: ttl === undefined ? 'attribute_exists(#ttl)' : '#ttl < :ttl',
              ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
              ...(ttl === undefined ? {} : { ExpressionAttributeValues: { ':ttl': n(ttl) } }),
            }),
          ),
        );
      } catch (error) {
        // Already as late (or gone: popped meanwhile, and then this write loses its race).
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Reads

  /** The newest `limit` items (all when undefined), newest first, as one consistent state. */
  async #snapshot(limit: number | undefined): Promise<Snapshot> {
    const versions: (number | undefined)[] = [];
    for (let attempt = 0; ; attempt++) {
      const result = await this.#readChain(limit);
      if (!('inconsistent' in result)) {
        this.#remember(result.meta);
        return result;
      }
      versions.push(result.version);
      if (attempt + 1 >= MAX_READ_ATTEMPTS) {
        const stable = versions.slice(-4).every((v) => v === result.version);
        if (stable) {
          throw new SessionCorruptDataError(
            `The history of this session is inconsistent: a row its metadata links to is missing or malformed (table ${this.tableName})`,
          );
        }
        throw new SessionStorageError(
          'read',
          new Error(`the session changed during each of ${MAX_READ_ATTEMPTS} reads`),
        );
      }
      await sleep(backoff(attempt, 5, 250));
    }
  }

  /**
   * One descending Query from the metadata row down: the metadata comes first, then rows from
   * the newest. The chain from `top` is followed through `p` links; rows off the chain are
   * skipped. A missing link or a row of another generation means a write was being applied
   * while we read (DynamoDB's Query is only read-committed per item), so the caller reads again.
   */
  async #readChain(limit: number | undefined): Promise<ReadAttempt> {
    const items: ChainItem[] = [];
    let meta: Meta | undefined;
    let expected = -1;
    let pending: { pieces: string[]; rows: Deletion[]; k: number; n: number } | undefined;
    let headers: Deletion[] = [];
    let startKey: Row | undefined;
    let first = true;
    for (;;) {
      let pageLimit: number | undefined;
      if (limit !== undefined) {
        const itemsLeft = limit - items.length - (pending ? 1 : 0);
        const wanted = (first ? 1 : 0) + itemsLeft + (pending ? pending.k : 0);
        // A page stops at 1 MB anyway; the cap only keeps the parameter in DynamoDB's range.
        pageLimit = Math.min(MAX_PAGE_LIMIT, Math.max(1, wanted));
      }
      const page = await this.#call(() =>
        this.#client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
            ExpressionAttributeValues: {
              ':pk': { S: this.sessionId },
              ':lo': { S: ITEM_SK_MIN },
              ':hi': { S: META_SK },
            },
            ScanIndexForward: false,
            ConsistentRead: true,
            ...(pageLimit === undefined ? {} : { Limit: pageLimit }),
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      const rows = page.Items ?? [];
      let i = 0;
      if (first) {
        first = false;
        const head = rows[0];
        if (head?.[SORT_KEY]?.S !== META_SK) return { meta: undefined, items: [] };
        meta = parseMeta(head) as Meta;
        if (!isLive(meta, Date.now()) || meta.top < 0) return { meta, items: [] };
        expected = meta.top;
        i = 1;
      }
      const inconsistent = { inconsistent: true as const, version: meta?.version };
      for (; i < rows.length; i++) {
        const row = rows[i] as Row;
        const seq = seqOf(row[SORT_KEY]?.S ?? '');
        if (seq > expected) continue; // not on the chain (replaced, or not linked yet)
        const prev = num(row[A.prev]);
        if (seq < expected || num(row[A.generation]) !== meta?.generation || prev === undefined || prev >= seq) {
          return inconsistent;
        }
        expected = prev;
        const text = row[A.text]?.S;
        if (text === undefined) {
          if (row[A.header]?.BOOL !== true || pending) return inconsistent;
          headers.push({ seq, bytes: this.#keyBytes + ROW_OVERHEAD });
        } else {
          const count = num(row[A.chunkCount]) ?? 1;
          const index = num(row[A.chunkIndex]) ?? 0;
          const deletion = { seq, bytes: text.length * 3 + this.#keyBytes + ROW_OVERHEAD };
          if (pending) {
            if (count !== pending.n || index !== pending.k - 1) return inconsistent;
            pending.pieces.push(text);
            pending.rows.push(deletion);
            pending.k = index;
          } else {
            if (index !== count - 1) return inconsistent;
            pending = { pieces: [text], rows: [...headers, deletion], k: index, n: count };
            headers = [];
          }
          if (index === 0) {
            items.push({ text: pending.pieces.reverse().join(''), rows: pending.rows, prev });
            pending = undefined;
          }
        }
        if (expected === -1 && pending) return inconsistent;
        if (expected === -1 || (limit !== undefined && items.length >= limit && !pending)) {
          return { meta, items };
        }
      }
      if (!page.LastEvaluatedKey) return inconsistent; // the chain points below the last row
      startKey = page.LastEvaluatedKey;
    }
  }

  async #knownMeta(): Promise<Meta | undefined> {
    if (this.#metaKnown) return this.#meta;
    const result = await this.#call(() =>
      this.#client.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.#key(META_SK), ConsistentRead: true }),
      ),
    );
    const meta = parseMeta(result.Item);
    this.#remember(meta);
    return meta;
  }

  #remember(meta: Meta | undefined): void {
    this.#meta = meta;
    this.#metaKnown = true;
  }

  /**
   * Queues this write behind the other writes of this session through this client: each then
   * starts from the metadata its predecessor wrote and usually commits in one round trip.
   */
  #exclusive<T>(write: () => Promise<T>): Promise<T> {
    return writeQueue.run(this.#client, `${this.tableName}\u0000${this.sessionId}`, async (lane) => {
      if (lane.known && (!this.#metaKnown || (lane.meta?.version ?? 0) >= (this.#meta?.version ?? 0))) {
        this.#remember(lane.meta);
      }
      try {
        return await write();
      } finally {
        lane.meta = this.#meta;
        lane.known = this.#metaKnown;
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Cleanup

  /** Deletes item rows below `seq` (all dead after a whole-history replacement). */
  async #deleteDeadBelow(seq: number): Promise<void> {
    if (seq <= 0) return;
    const dead: number[] = [];
    await this.#scan(itemSk(seq - 1), (row) => {
      dead.push(seqOf(row[SORT_KEY]?.S ?? ''));
    });
    await this.#deleteRows(dead);
  }

  /** Deletes every row of the partition (but the metadata) that `dead` selects. */
  async #deleteWhere(dead: (sk: string, generation: number | undefined) => boolean): Promise<void> {
    const keys: string[] = [];
    let startKey: Row | undefined;
    do {
      const page = await this.#call(() =>
        this.#client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#g': A.generation },
            ExpressionAttributeValues: { ':pk': { S: this.sessionId } },
            ProjectionExpression: '#sk, #g',
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const row of page.Items ?? []) {
        const sk = row[SORT_KEY]?.S ?? '';
        if (sk !== META_SK && dead(sk, num(row[A.generation]))) keys.push(sk);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    await this.#batchWrite(keys.map((sk) => ({ DeleteRequest: { Key: this.#key(sk) } })));
  }

  /** Every item row at or below `highSk`, oldest first, keys only. */
  async #scan(highSk: string, visit: (row: Row) => void): Promise<void> {
    let startKey: Row | undefined;
    do {
      const page = await this.#call(() =>
        this.#client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#g': A.generation },
            ExpressionAttributeValues: {
              ':pk': { S: this.sessionId },
              ':lo': { S: ITEM_SK_MIN },
              ':hi': { S: highSk },
            },
            ProjectionExpression: '#sk, #g',
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const row of page.Items ?? []) visit(row);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async #deleteRows(seqs: number[]): Promise<void> {
    await this.#batchWrite(seqs.map((seq) => ({ DeleteRequest: { Key: this.#key(itemSk(seq)) } })));
  }

  /** `BatchWriteItem` in groups of 25, several in flight, retrying `UnprocessedItems`. */
  async #batchWrite(requests: WriteRequest[]): Promise<void> {
    const groups: WriteRequest[][] = [];
    for (let i = 0; i < requests.length; i += BATCH_WRITE_SIZE) groups.push(requests.slice(i, i + BATCH_WRITE_SIZE));
    await inParallel(groups, PARALLEL_REQUESTS, async (group) => {
      let pending = group;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await sleep(backoff(attempt, 20, 1000));
        if (attempt >= MAX_THROTTLE_ATTEMPTS * 2) {
          throw new SessionStorageError('batchWrite', new Error(`${pending.length} writes stayed unprocessed`));
        }
        const batch = pending;
        const result = await this.#call(() =>
          this.#client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: batch } })),
        );
        pending = result.UnprocessedItems?.[this.tableName] ?? [];
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  #key(sk: string): Row {
    return { [PARTITION_KEY]: { S: this.sessionId }, [SORT_KEY]: { S: sk } };
  }

  /**
   * Sends one request: retried with backoff when DynamoDB throttles or reports a conflicting
   * transaction, and, when the table is missing and `createTable` is on, after creating it.
   */
  async #call<T>(send: () => Promise<T>): Promise<T> {
    let created = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        const name = errorName(error);
        if (name === 'ResourceNotFoundException' && this.#createTable && !created) {
          created = true;
          await ensureTable(this.#client, this.tableName);
          continue;
        }
        if (RETRYABLE_ERRORS.has(name) && attempt + 1 < MAX_THROTTLE_ATTEMPTS) {
          await sleep(backoff(attempt, 20, 1000));
          continue;
        }
        throw error;
      }
    }
  }
}

/** A generation newer than any the metadata row has seen (time based, so it also beats rows left from before the row was deleted). */
function freshGeneration(meta: Meta | undefined, now: number): number {
  return meta?.generation === undefined ? now : Math.max(meta.generation + 1, now);
}

function matchesSuffix(items: ChainItem[], expected: string[]): boolean {
  const count = expected.length;
  if (items.length < count) return false;
  for (let i = 0; i < count; i++) {
    if ((items[count - 1 - i] as ChainItem).text !== expected[i]) return false;
  }
  return true;
}

function fitsInTransaction(rows: RowSpec[], operation: OperationRecord | undefined): boolean {
  const fixed = operation ? 2 : 1;
  if (rows.length + fixed > MAX_TRANSACTION_ACTIONS) return false;
  let bytes = META_BYTES * fixed;
  for (const row of rows) bytes += row.bytes;
  return bytes <= MAX_TRANSACTION_BYTES;
}

/** The operation id is already recorded: done if it was this transaction, a conflict if not. */
function settleRecorded(operation: OperationRecord | undefined, fingerprint: string): void {
  if (operation && fingerprint === operation.fingerprint) return;
  throw new SessionConflictError(
    'operation_id_reused',
    `operationId ${JSON.stringify(operation?.id)} was already used for a different transaction`,
  );
}
