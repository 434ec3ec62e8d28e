import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { OncePerClient, utf8ByteLength } from '@sessions/core';
import { upgradeSession } from './engine/catalog.js';
import { assertBudget, requestOptions } from './engine/deadline.js';
import {
  CATALOG_INDEX,
  CATALOG_PROJECTION,
  M,
  PARTITION_KEY,
  type Row,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from './engine/layout.js';
import { SessionRequests } from './engine/requests.js';
import { inParallel, sleep } from './engine/retry.js';
import { TableRequests } from './engine/table-requests.js';

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

/** The catalog index's key attributes, both strings. */
const CATALOG_ATTRIBUTES: AttributeDefinition[] = [
  { AttributeName: M.catalogShard, AttributeType: 'S' },
  { AttributeName: M.catalogKey, AttributeType: 'S' },
];

/** The sparse catalog index (see engine/catalog.ts and the README's table definitions). */
const CATALOG_GSI: GlobalSecondaryIndex = {
  IndexName: CATALOG_INDEX,
  KeySchema: [
    { AttributeName: M.catalogShard, KeyType: 'HASH' },
    { AttributeName: M.catalogKey, KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...CATALOG_PROJECTION] },
};

async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: SORT_KEY, AttributeType: 'S' },
          ...CATALOG_ATTRIBUTES,
        ],
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: SORT_KEY, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [CATALOG_GSI],
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
  await ensureCatalogIndex(client, tableName, Table as TableDescription);
  await enableTtl(client, tableName);
}

/**
 * A table of a release before the catalog has no catalog index. Its sessions are given their
 * catalog attributes first (a scan, see {@link backfillCatalog}), then the index is added: an
 * index that exists means the backfill finished, and a setup interrupted before that (the
 * call's deadline, a crash) scans again next time, skipping what it already upgraded.
 */
async function ensureCatalogIndex(client: DynamoDBClient, tableName: string, table: TableDescription): Promise<void> {
  const index = table.GlobalSecondaryIndexes?.find((gsi) => gsi.IndexName === CATALOG_INDEX);
  if (index) {
    const keys = (index.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    if (keys !== `${M.catalogShard}:HASH,${M.catalogKey}:RANGE`) {
      throw new Error(
        `table ${tableName} has an index "${CATALOG_INDEX}" with other keys (${keys}); the session catalog needs ` +
          `partition key "${M.catalogShard}" (S) and sort key "${M.catalogKey}" (S)`,
      );
    }
    if (index.IndexStatus !== 'ACTIVE') await untilIndexActive(client, tableName);
    return;
  }
  await backfillCatalog(client, tableName);
  const provisioned = table.BillingModeSummary?.BillingMode !== 'PAY_PER_REQUEST' && table.ProvisionedThroughput;
  try {
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: CATALOG_ATTRIBUTES,
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              ...CATALOG_GSI,
              // A provisioned table's index needs capacity of its own: the table's, as a start.
              ...(provisioned && {
                ProvisionedThroughput: {
                  ReadCapacityUnits: provisioned.ReadCapacityUnits || 5,
                  WriteCapacityUnits: provisioned.WriteCapacityUnits || 5,
                },
              }),
            },
          },
        ],
      }),
      requestOptions(),
    );
  } catch (error) {
    // Another process added it first (or is adding it): wait for it below.
    const { name, message } = error as { name?: string; message?: string };
    const raced =
      name === 'ResourceInUseException' ||
      (name === 'ValidationException' && /already exists|being (created|updated)/i.test(message ?? ''));
    if (!raced) throw error;
  }
  await untilIndexActive(client, tableName);
}

/** Polls `DescribeTable` until the catalog index is ACTIVE (DynamoDB fills it from existing rows first). */
async function untilIndexActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }), requestOptions());
    const index = Table?.GlobalSecondaryIndexes?.find((gsi) => gsi.IndexName === CATALOG_INDEX);
    if (index?.IndexStatus === 'ACTIVE') return;
    if (Date.now() - started > ACTIVE_TIMEOUT_MS) {
      throw new Error(
        `the catalog index of table ${tableName} did not become ACTIVE within ${ACTIVE_TIMEOUT_MS / 1000} s`,
      );
    }
    await sleep(Math.min(2_000, 200 * 2 ** attempt));
    assertBudget();
  }
}

/** Sessions upgraded at once during a backfill. */
const BACKFILL_PARALLELISM = 8;

/**
 * Gives every session written by a release before the catalog its item count and index keys:
 * one scan of the table for metadata rows without a count, then each such session is counted
 * (its chain read once) and upgraded with a conditional update that keeps its dates. Idempotent;
 * sessions written meanwhile by this release count for themselves.
 */
export async function backfillCatalog(client: DynamoDBClient, tableName: string): Promise<number> {
  const table = new TableRequests(client, tableName, undefined);
  let upgraded = 0;
  let startKey: Row | undefined;
  do {
    const page = await table.uncataloguedPage(startKey);
    await inParallel(page.sessionIds, BACKFILL_PARALLELISM, async (sessionId) => {
      const requests = new SessionRequests(client, tableName, sessionId, undefined);
      await upgradeSession(requests, { keyBytes: utf8ByteLength(sessionId) + 20, tableName });
      upgraded++;
    });
    startKey = page.lastKey;
  } while (startKey);
  return upgraded;
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
