import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { OncePerClient } from '@sessions/core';
import { assertBudget, requestOptions } from './engine/deadline.js';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from './engine/layout.js';
import { sleep } from './engine/retry.js';

/** How long `setup()` waits for a table to become ACTIVE (the call's deadline usually ends it first). */
const ACTIVE_TIMEOUT_MS = 300_000;

const ensured = new OncePerClient();

/**
 * What `setup()` (alias `ensureTable()`) does, and what a request that finds the table missing
 * does first when `createTable` is on: creates the table if it is missing, waits until it is
 * ACTIVE, checks its key schema and enables TTL on `expiresAt`. Idempotent and safe when several
 * processes race: a lost `CreateTable` race (`ResourceInUseException`) and an already enabled
 * TTL are fine. Memoised per client and table name; a failure is forgotten so the next call
 * tries again. Errors are the driver's (or plain ones): the caller's `run` names the public
 * method that failed. Every request carries the abort signal of the call that started the setup
 * (see `engine/deadline.ts`): when that call ends, the setup stops, fails, and is forgotten, so
 * the next call starts it again (a table DynamoDB is still creating is waited for, not recreated).
 */
export function setupTable(client: DynamoDBClient, tableName: string): Promise<void> {
  return ensured.run(client, tableName, () => createTable(client, tableName));
}

async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: SORT_KEY, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: SORT_KEY, KeyType: 'RANGE' },
        ],
      }),
      requestOptions(),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
  }
  const Table = await untilActive(client, tableName);
  const keys = Table?.KeySchema ?? [];
  const types = new Map((Table?.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
  const hash = keys.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = keys.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (hash !== PARTITION_KEY || range !== SORT_KEY || types.get(hash) !== 'S' || types.get(range) !== 'S') {
    throw new Error(
      `table ${tableName} exists with another key schema (${hash ?? '?'}/${range ?? '?'}); ` +
        `sessions need a partition key "${PARTITION_KEY}" (S) and a sort key "${SORT_KEY}" (S)`,
    );
  }
  await enableTtl(client, tableName);
}

/** Polls `DescribeTable` until the table is ACTIVE (every 0.2 s, then up to every 2 s). */
async function untilActive(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    let table: TableDescription | undefined;
    try {
      ({ Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }), requestOptions()));
    } catch (error) {
      // Just created, not visible yet (eventually consistent on AWS).
      if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    }
    if (table?.TableStatus === 'ACTIVE') return table;
    if (Date.now() - started > ACTIVE_TIMEOUT_MS) {
      throw new Error(`table ${tableName} did not become ACTIVE within ${ACTIVE_TIMEOUT_MS / 1000} s`);
    }
    await sleep(Math.min(2_000, 200 * 2 ** attempt));
    assertBudget();
  }
}

async function enableTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  const { TimeToLiveDescription } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
    requestOptions(),
  );
  const status = TimeToLiveDescription?.TimeToLiveStatus;
  // ENABLING/ENABLED on our attribute: done. TTL on another attribute: the table is the
  // caller's; reads still expire sessions on time, only the physical cleanup is theirs.
  if (status !== undefined && status !== 'DISABLED') return;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: TTL_ATTRIBUTE },
      }),
      requestOptions(),
    );
  } catch (error) {
    // Another process enabled it first: "TimeToLive is already enabled", or (AWS) "Time to
    // live has been modified multiple times within a fixed interval".
    const { name, message } = error as { name?: string; message?: string };
    if (name === 'ValidationException' && /already enabled|multiple times/i.test(message ?? '')) return;
    throw error;
  }
}
