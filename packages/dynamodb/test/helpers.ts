import { randomUUID } from 'node:crypto';
import {
  DeleteTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, inject } from 'vitest';
import { DynamoDBSessionStore } from '../src/index.js';

export const endpoint = inject('dynamodbEndpoint');

/** DynamoDB Local accepts any credentials; the region only has to be valid. */
export function clientConfig(extra: DynamoDBClientConfig = {}): DynamoDBClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...extra,
  };
}

export function rawClient(extra: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient(clientConfig(extra));
}

/** A table name of its own for each test file and run, so runs never collide. */
export function uniqueTable(label: string): string {
  return `t_${label}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

export async function dropTable(client: DynamoDBClient, table: string): Promise<void> {
  try {
    await client.send(new DeleteTableCommand({ TableName: table }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
}

export type RawRow = NonNullable<QueryCommandOutput['Items']>[number];

/** Every row of a session's partition, read with the raw driver (following every page). */
export async function partitionRows(client: DynamoDBClient, table: string, sessionId: string): Promise<RawRow[]> {
  const rows: RawRow[] = [];
  let startKey: QueryCommandOutput['LastEvaluatedKey'];
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: sessionId } },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    rows.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return rows;
}

/**
 * Conversation items physically stored for a session, from the documented layout: rows whose
 * sort key starts with `i#` and that hold text, counting an item split in chunks once (its
 * chunk 0). Visible or not, expired or not.
 */
export async function storedItemCount(client: DynamoDBClient, table: string, sessionId: string): Promise<number> {
  const rows = await partitionRows(client, table, sessionId);
  return rows.filter((row) => row.sk?.S?.startsWith('i#') && row.t?.S !== undefined && (row.k?.N ?? '0') === '0')
    .length;
}

/** Counts the commands a client sends, by name (a middleware: the requests still go to the server). */
export function countCommands(client: DynamoDBClient): { counts: Record<string, number>; reset(): void } {
  const counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return {
    counts,
    reset() {
      for (const key of Object.keys(counts)) delete counts[key];
    },
  };
}

export function message(text: string, extra: Record<string, unknown> = {}) {
  return { type: 'message', role: 'user', content: text, ...extra };
}

export function numbered(tag: string, count: number, pad = 0) {
  return Array.from({ length: count }, (_, i) => message(`${tag}-${i}${'.'.repeat(pad)}`, { tag, i }));
}

/** A computer-use screenshot sized item: `bytes` of base64-like text. */
export function screenshot(bytes: number, seed: string) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let data = '';
  for (let i = 0; data.length < bytes; i++) data += alphabet[(i * 7 + seed.length * 13 + (i >> 6)) % 64];
  return { type: 'computer_call_result', callId: `call_${seed}`, output: { type: 'computer_screenshot', data } };
}

/**
 * A table of this test file's own and a store on it through a counted client of its own (raw
 * checks use a separate client); the table is created before the tests and dropped after.
 */
export function tableForTests(label: string) {
  const tableName = uniqueTable(label);
  const raw = rawClient();
  const client = rawClient();
  const commands = countCommands(client);
  const store = new DynamoDBSessionStore({ client, tableName });
  beforeAll(() => store.ensureTable());
  afterAll(async () => {
    await store.close();
    client.destroy();
    await dropTable(raw, tableName);
    raw.destroy();
  });
  return { tableName, raw, client, commands, store };
}
