/**
 * Requests over the whole table, for the catalog (split from `requests.ts`, which holds a single
 * session's). Every request goes through {@link sendWithRetries} and carries the call's abort signal.
 */
import { type DynamoDBClient, GetItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { ShardPage, ShardQuery } from './catalog.js';
import { assertBudget, requestOptions } from './deadline.js';
import { CATALOG_INDEX, M, META_SK, PARTITION_KEY, type Row, rowKey, SORT_KEY } from './layout.js';
import { sendWithRetries } from './retry.js';

/**
 * Requests over the whole table, for the catalog: the index queries of a listing page and the
 * scan that gives rows of an older release their catalog attributes (store.ts).
 */
export class TableRequests {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #createTable: (() => Promise<void>) | undefined;

  constructor(client: DynamoDBClient, tableName: string, createTable: (() => Promise<void>) | undefined) {
    this.#client = client;
    this.#tableName = tableName;
    this.#createTable = createTable;
  }

  /** One page of one shard of the catalog index (eventually consistent, as every index read). */
  readonly queryShard = async (query: ShardQuery): Promise<ShardPage> => {
    const page = await this.#call(() =>
      this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          IndexName: CATALOG_INDEX,
          KeyConditionExpression: '#shard = :shard AND #key BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#shard': M.catalogShard, '#key': M.catalogKey },
          ExpressionAttributeValues: { ':shard': { S: query.shard }, ':lo': { S: query.lo }, ':hi': { S: query.hi } },
          Limit: query.limit,
          ...(query.startKey ? { ExclusiveStartKey: query.startKey } : {}),
        }),
        requestOptions(),
      ),
    );
    return { rows: page.Items ?? [], lastKey: page.LastEvaluatedKey };
  };

  /** One strongly consistent read of a session's metadata row. */
  async getMeta(sessionId: string): Promise<Row | undefined> {
    const result = await this.#call(() =>
      this.#client.send(
        new GetItemCommand({ TableName: this.#tableName, Key: rowKey(sessionId, META_SK), ConsistentRead: true }),
        requestOptions(),
      ),
    );
    return result.Item;
  }

  /**
   * One page of the scan for metadata rows without catalog attributes (written by a release
   * before the catalog): their session ids. A whole scan reads the table once.
   */
  async uncataloguedPage(startKey: Row | undefined): Promise<{ sessionIds: string[]; lastKey: Row | undefined }> {
    const page = await this.#call(() =>
      this.#client.send(
        new ScanCommand({
          TableName: this.#tableName,
          FilterExpression: '#sk = :m AND attribute_exists(#g) AND attribute_not_exists(#count)',
          ExpressionAttributeNames: {
            '#pk': PARTITION_KEY,
            '#sk': SORT_KEY,
            '#g': M.generation,
            '#count': M.itemCount,
          },
          ExpressionAttributeValues: { ':m': { S: META_SK } },
          ProjectionExpression: '#pk',
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
        requestOptions(),
      ),
    );
    return {
      sessionIds: (page.Items ?? []).flatMap((row) => row[PARTITION_KEY]?.S ?? []),
      lastKey: page.LastEvaluatedKey,
    };
  }

  #call<T>(send: () => Promise<T>): Promise<T> {
    return sendWithRetries(() => {
      assertBudget();
      return send();
    }, this.#createTable);
  }
}
