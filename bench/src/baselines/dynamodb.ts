/**
 * Raw `@aws-sdk/client-dynamodb` baseline in the table `@sessions/dynamodb` uses, reading the very
 * rows our store wrote (partition `pk` = session id, item rows `sk = i#<14 hex digits>` holding the
 * JSON text in `t`, metadata row `sk = m`). The least that gives the same results in the same round
 * trips:
 * - add: one `TransactWriteItems` that moves the metadata's `nextSeq` on (conditional on the value
 *   this client last saw, re-read and retried when another writer got there first, which keeps
 *   concurrent batches contiguous) and puts the batch's rows — like ours, one request once the
 *   handle knows the metadata;
 * - getItems(20): one descending, consistent `Query` with `Limit: 20`;
 * - getItems(): consistent `Query` pages, following `LastEvaluatedKey` to the end;
 * - pop: a descending `Query` with `Limit: 1`, then a conditional `DeleteItem` (two requests, like ours).
 * What it skips is what our store adds: validation, canonical JSON, the chain links, generations
 * and versions that let readers never see half a write, TTL, items over 400 KB.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { AgentInputItem } from '@sessions/core';
import { dynamoConfig } from '../peers.ts';
import { ALL_NATIVE, type Subject, type SubjectSession } from '../subject.ts';

export const DYNAMO_TABLE = 'bench_sessions';

type Row = Record<string, AttributeValue>;
const sk = (seq: number) => `i#${seq.toString(16).padStart(14, '0')}`;
const key = (id: string, sortKey: string): Row => ({ pk: { S: id }, sk: { S: sortKey } });
const name = (error: unknown) => (error as { name?: string }).name ?? '';

export async function rawDynamo(endpoint: string): Promise<Subject> {
  const client = new DynamoDBClient(dynamoConfig(endpoint));
  const nextSeq = new Map<string, number>();
  const parse = (rows: Row[]) => rows.map((row) => JSON.parse(row.t?.S ?? 'null') as AgentInputItem);

  const readNext = async (id: string) => {
    const { Item } = await client.send(
      new GetItemCommand({ TableName: DYNAMO_TABLE, Key: key(id, 'm'), ConsistentRead: true }),
    );
    const next = Number(Item?.nextSeq?.N ?? 0);
    nextSeq.set(id, next);
    return next;
  };

  const append = async (id: string, items: AgentInputItem[]) => {
    for (let attempt = 0; ; attempt++) {
      const old = nextSeq.get(id) ?? (await readNext(id));
      try {
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Update: {
                  TableName: DYNAMO_TABLE,
                  Key: key(id, 'm'),
                  UpdateExpression: 'SET #n = :new',
                  ConditionExpression: old === 0 ? 'attribute_not_exists(#n) OR #n = :old' : '#n = :old',
                  ExpressionAttributeNames: { '#n': 'nextSeq' },
                  ExpressionAttributeValues: { ':new': { N: String(old + items.length) }, ':old': { N: String(old) } },
                },
              },
              ...items.map((item, k) => ({
                Put: { TableName: DYNAMO_TABLE, Item: { ...key(id, sk(old + k)), t: { S: JSON.stringify(item) } } },
              })),
            ],
          }),
        );
        nextSeq.set(id, old + items.length);
        return;
      } catch (error) {
        if (name(error) !== 'TransactionCanceledException' || attempt > 200) throw error;
        nextSeq.delete(id); // another writer moved nextSeq on: read it again and retry
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
      }
    }
  };

  const query = async (id: string, forward: boolean, limit?: number) => {
    const rows: Row[] = [];
    let startKey: Row | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: DYNAMO_TABLE,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :i)',
          ExpressionAttributeValues: { ':pk': { S: id }, ':i': { S: 'i#' } },
          ScanIndexForward: forward,
          ConsistentRead: true,
          ...(limit === undefined ? {} : { Limit: limit - rows.length }),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      rows.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && (limit === undefined || rows.length < limit));
    return rows;
  };

  const session = (id: string): SubjectSession => ({
    add: (batch) => append(id, batch as AgentInputItem[]),
    getAll: async () => parse(await query(id, true)),
    getLast: async (limit) => parse(await query(id, false, limit)).reverse(),
    async pop() {
      for (let attempt = 0; ; attempt++) {
        const [newest] = await query(id, false, 1);
        if (!newest) return undefined;
        try {
          const { Attributes } = await client.send(
            new DeleteItemCommand({
              TableName: DYNAMO_TABLE,
              Key: key(id, newest.sk!.S!),
              ConditionExpression: 'attribute_exists(pk)',
              ReturnValues: 'ALL_OLD',
            }),
          );
          return JSON.parse(Attributes?.t?.S ?? 'null') as AgentInputItem;
        } catch (error) {
          // a concurrent pop took it first
          if (name(error) !== 'ConditionalCheckFailedException' || attempt > 50) throw error;
        }
      }
    },
    async clear() {
      const rows = await query(id, true);
      const requests = [...rows.map((row) => key(id, row.sk!.S!)), key(id, 'm')].map((Key) => ({
        DeleteRequest: { Key },
      }));
      for (let i = 0; i < requests.length; i += 25) {
        let pending = requests.slice(i, i + 25);
        while (pending.length > 0) {
          const { UnprocessedItems } = await client.send(
            new BatchWriteItemCommand({ RequestItems: { [DYNAMO_TABLE]: pending } }),
          );
          pending = (UnprocessedItems?.[DYNAMO_TABLE] ?? []) as typeof pending;
        }
      }
      nextSeq.delete(id);
    },
  });

  return {
    role: 'raw',
    label: 'raw @aws-sdk/client-dynamodb',
    supports: ALL_NATIVE,
    prepare: (items) => items,
    session,
    async seed(id, items) {
      await session(id).clear();
      for (let i = 0; i < items.length; i += 90) await append(id, items.slice(i, i + 90));
    },
    async close() {
      client.destroy();
    },
  };
}
