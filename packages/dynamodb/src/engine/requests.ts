/**
 * The DynamoDB requests of one session's partition ({@link SessionRequests}); the catalog's across
 * the table are in `table-requests.ts`, the metadata updates' expressions in `meta-updates.ts`.
 * Every request goes through {@link sendWithRetries} (throttling, and a missing table created on
 * the spot when `createIfMissing` is on) and carries the call's abort signal (`deadline.ts`).
 */
import {
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { ChainPage } from './chain.js';
import { assertBudget, requestOptions } from './deadline.js';
import {
  A,
  ITEM_SK_MIN,
  ITEM_SK_PREFIX,
  itemRow,
  itemSk,
  M,
  META_SK,
  type Meta,
  type MetaState,
  n,
  num,
  OP_SK_PREFIX,
  opSk,
  PARTITION_KEY,
  parseMeta,
  type Row,
  type RowSpec,
  rowKey,
  SORT_KEY,
  seqOf,
  TTL_ATTRIBUTE,
} from './layout.js';
import { clearUpdate, type MetaUpdate, tombstoneUpdate, upgradeUpdate } from './meta-updates.js';
import { batchWriteAll, PARALLEL_REQUESTS, type TransactionPlan, transactionActions } from './plan.js';
import { errorName, inParallel, sendWithRetries } from './retry.js';
import { cancelledOutcome, type TransactionOutcome } from './verdict.js';

export class SessionRequests {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #pk: string;
  readonly #createIfMissing: boolean;
  readonly #createTable: (() => Promise<void>) | undefined;

  /** `createTable`: what creates the table when a request finds it missing (undefined: nothing does). */
  constructor(
    client: DynamoDBClient,
    tableName: string,
    sessionId: string,
    createTable: (() => Promise<void>) | undefined,
  ) {
    this.#client = client;
    this.#tableName = tableName;
    this.#pk = sessionId;
    this.#createIfMissing = createTable !== undefined;
    this.#createTable = createTable;
  }

  /**
   * One page of the descending Query from the metadata row down through the item rows. With
   * `createIfMissing: false`, a missing table reads as an empty one (and nothing is created).
   */
  readonly chainPage = async (limit: number | undefined, startKey: Row | undefined): Promise<ChainPage> => {
    const page = await this.#call(() =>
      this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
          ExpressionAttributeValues: { ':pk': { S: this.#pk }, ':lo': { S: ITEM_SK_MIN }, ':hi': { S: META_SK } },
          ScanIndexForward: false,
          ConsistentRead: true,
          ...(limit === undefined ? {} : { Limit: limit }),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
        requestOptions(),
      ),
    ).catch((error: unknown) => {
      if (this.#createIfMissing || errorName(error) !== 'ResourceNotFoundException') throw error;
      return { Items: [], LastEvaluatedKey: undefined };
    });
    return { rows: page.Items ?? [], lastKey: page.LastEvaluatedKey };
  };

  /** The metadata row (strongly consistent); with `createIfMissing: false` a missing table reads as empty. */
  async getMeta(): Promise<Meta | undefined> {
    const result = await this.#call(() =>
      this.#client.send(
        new GetItemCommand({ TableName: this.#tableName, Key: this.#key(META_SK), ConsistentRead: true }),
        requestOptions(),
      ),
    ).catch((error: unknown) => {
      if (this.#createIfMissing || errorName(error) !== 'ResourceNotFoundException') throw error;
      return { Item: undefined };
    });
    return parseMeta(result.Item);
  }

  async transact(plan: TransactionPlan): Promise<TransactionOutcome> {
    const { actions, overflow } = transactionActions(plan, this.#tableName, this.#pk, Date.now());
    try {
      await this.#call(() =>
        this.#client.send(new TransactWriteItemsCommand({ TransactItems: actions }), requestOptions()),
      );
      return { kind: 'committed', overflow };
    } catch (error) {
      const outcome = cancelledOutcome(error, plan.operation);
      if (!outcome) throw error;
      return outcome;
    }
  }

  /** The metadata and an operation-id row, in one serializable read. */
  async metaAndOperation(operationId: string): Promise<{ meta: Meta | undefined; recorded: Row | undefined }> {
    const result = await this.#call(() =>
      this.#client.send(
        new TransactGetItemsCommand({
          TransactItems: [
            { Get: { TableName: this.#tableName, Key: this.#key(META_SK) } },
            { Get: { TableName: this.#tableName, Key: this.#key(opSk(operationId)) } },
          ],
        }),
        requestOptions(),
      ),
    );
    return { meta: parseMeta(result.Responses?.[0]?.Item), recorded: result.Responses?.[1]?.Item };
  }

  /** Reserves `count` sequence numbers with an atomic `ADD`; returns the metadata after it. */
  async reserve(count: number): Promise<Meta> {
    const result = await this.#call(() =>
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: this.#key(META_SK),
          UpdateExpression: 'ADD #next :count, #v :one',
          ExpressionAttributeNames: { '#next': M.nextSeq, '#v': M.version },
          ExpressionAttributeValues: { ':count': n(count), ':one': n(1) },
          ReturnValues: 'ALL_NEW',
        }),
        requestOptions(),
      ),
    );
    return parseMeta(result.Attributes) as Meta;
  }

  /**
   * Empties the history for every reader at once (`top = -1`, a new generation, 0 items); the
   * session keeps its metadata and its place in the catalog moves to `now`, with the TTL slid
   * as by any write. Returns the metadata after it, or undefined when there is no live session
   * (nothing to clear: an expired one stays expired).
   */
  async clearMeta(now: number, ttlSeconds: number | undefined): Promise<Meta | undefined> {
    return this.#updateMeta(clearUpdate(this.#pk, now, ttlSeconds));
  }

  /**
   * `deleteSession`: the metadata row becomes a tombstone that reads as expired (`expiresAtMs`
   * 0) with an empty history of a new generation, without metadata or catalog keys, so it leaves
   * the index. It is not deleted: it keeps `nextSeq` and the generation, so a write racing with
   * the cleanup below starts above every row the cleanup deletes. DynamoDB's TTL removes it a day
   * later. Undefined when there is no session (no metadata row, or one never written).
   */
  async tombstoneMeta(now: number): Promise<Meta | undefined> {
    return this.#updateMeta(tombstoneUpdate(now));
  }

  /**
   * Gives a metadata row written before the catalog its item count and index keys, if it is
   * still at `version` (a write meanwhile counts for itself). Dates are kept: the session keeps
   * its place in the listing. Undefined when the row changed meanwhile.
   */
  async upgradeMeta(meta: Meta, itemCount: number): Promise<Meta | undefined> {
    return this.#updateMeta(upgradeUpdate(this.#pk, meta, itemCount));
  }

  /** A conditional `UpdateItem` of the metadata row; the row after it, or undefined when the condition failed. */
  async #updateMeta(update: MetaUpdate): Promise<Meta | undefined> {
    try {
      const result = await this.#call(() =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#tableName,
            Key: this.#key(META_SK),
            ...update,
            ReturnValues: 'ALL_NEW',
          }),
          requestOptions(),
        ),
      );
      return parseMeta(result.Attributes);
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      return undefined;
    }
  }

  /** Puts staged rows (not linked to the chain yet). */
  async putRows(generation: number, rows: readonly RowSpec[], expiresAt: number | undefined): Promise<void> {
    await this.#batchWrite(
      rows.map((spec) => ({ PutRequest: { Item: itemRow(this.#pk, generation, spec, expiresAt) } })),
    );
  }

  async deleteRows(seqs: readonly number[]): Promise<void> {
    await this.#batchWrite(seqs.map((seq) => ({ DeleteRequest: { Key: this.#key(itemSk(seq)) } })));
  }

  /** Deletes item rows below `seq` (all dead after a whole-history replacement). */
  async deleteDeadBelow(seq: number): Promise<void> {
    if (seq <= 0) return;
    const dead: number[] = [];
    await this.#keys(itemSk(seq - 1), (sk) => {
      dead.push(seqOf(sk));
    });
    await this.deleteRows(dead);
  }

  /**
   * After a clear to `meta`: every item row allocated before it is dead (later writes get higher
   * sequence numbers), and so is every operation id of an older generation.
   */
  async deleteCleared(meta: Meta): Promise<void> {
    const generation = meta.generation as number;
    const dead: string[] = [];
    await this.#keys(undefined, (sk, g) => {
      const item = sk.startsWith(ITEM_SK_PREFIX) && seqOf(sk) < meta.nextSeq;
      const op = sk.startsWith(OP_SK_PREFIX) && (g === undefined || g < generation);
      if (item || op) dead.push(sk);
    });
    await this.#batchWrite(dead.map((sk) => ({ DeleteRequest: { Key: this.#key(sk) } })));
  }

  /**
   * Stamps every row of the history up to `kept` with the TTL of `state` (or removes it when the
   * session no longer expires). A TTL only ever moves later (a row without one keeps none), so a
   * stamp by a write that then loses its race, or a concurrent handle's stamp, never shortens a
   * row's life below what another write committed. One `UpdateItem` per row.
   */
  async stampRows(state: MetaState, kept: number): Promise<void> {
    if (kept < 0) return;
    const seqs: number[] = [];
    await this.#keys(itemSk(kept), (sk, generation) => {
      if (generation === state.generation) seqs.push(seqOf(sk));
    });
    const ttl = state.expiresAt;
    await inParallel(seqs, PARALLEL_REQUESTS * 2, async (seq) => {
      try {
        await this.#call(() =>
          this.#client.send(
            new UpdateItemCommand({
              TableName: this.#tableName,
              Key: this.#key(itemSk(seq)),
              UpdateExpression: ttl === undefined ? 'REMOVE #ttl' : 'SET #ttl = :ttl',
              ConditionExpression: ttl === undefined ? 'attribute_exists(#ttl)' : '#ttl < :ttl',
              ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
              ...(ttl === undefined ? {} : { ExpressionAttributeValues: { ':ttl': n(ttl) } }),
            }),
            requestOptions(),
          ),
        );
      } catch (error) {
        // Already as late (or gone: popped meanwhile, and then this write loses its race).
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
    });
  }

  /**
   * Keys (and generations) of the partition's rows, oldest first: the item rows up to `highSk`,
   * or, without it, every row but the metadata.
   */
  async #keys(highSk: string | undefined, visit: (sk: string, generation: number | undefined) => void): Promise<void> {
    let startKey: Row | undefined;
    do {
      const page = await this.#call(() =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#tableName,
            KeyConditionExpression: highSk === undefined ? '#pk = :pk' : '#pk = :pk AND #sk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#g': A.generation },
            ExpressionAttributeValues:
              highSk === undefined
                ? { ':pk': { S: this.#pk } }
                : { ':pk': { S: this.#pk }, ':lo': { S: ITEM_SK_MIN }, ':hi': { S: highSk } },
            ProjectionExpression: '#sk, #g',
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
          requestOptions(),
        ),
      );
      for (const row of page.Items ?? []) {
        const sk = row[SORT_KEY]?.S ?? '';
        if (sk !== META_SK) visit(sk, num(row[A.generation]));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async #batchWrite(requests: WriteRequest[]): Promise<void> {
    const table = this.#tableName;
    await batchWriteAll(requests, async (batch) => {
      const result = await this.#call(() =>
        this.#client.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }), requestOptions()),
      );
      return result.UnprocessedItems?.[table] ?? [];
    });
  }

  #key(sk: string): Row {
    return rowKey(this.#pk, sk);
  }

  #call<T>(send: () => Promise<T>): Promise<T> {
    return sendWithRetries(() => {
      assertBudget();
      return send();
    }, this.#createTable);
  }
}
