/**
 * A table written by the release before the catalog (no catalog index, metadata rows without an
 * item count, labels or index keys), opened by this one. The old layout is copied here as a
 * fixture (from `git show HEAD:packages/dynamodb/src/setup.ts` and `engine/layout.ts` of 0.1.0),
 * written with the raw driver.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDBSessionStore } from '../src/index.js';
import { backfillCatalog } from '../src/setup.js';
import { clientConfig, dropTable, message, rawClient, uniqueTable } from './helpers.js';

const raw = rawClient();
const tables: string[] = [];

afterAll(async () => {
  for (const table of tables) await dropTable(raw, table);
  raw.destroy();
});

/** The 0.1.0 table: keys only, no index. */
async function createOldTable(client: DynamoDBClient): Promise<string> {
  const tableName = uniqueTable('migration');
  tables.push(tableName);
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  return tableName;
}

const GENERATION = 1_700_000_000_000;

/**
 * A session as 0.1.0 wrote it: item rows `i#<seq>` chained by `p`, and a metadata row with
 * version, generation, top, nextSeq and the dates (plus the read-time expiry when a TTL applied).
 */
async function writeOldSession(
  tableName: string,
  sessionId: string,
  texts: string[],
  dates: { createdAt: number; updatedAt: number; expiresAtMs?: number },
): Promise<void> {
  const put = (Item: Record<string, { S: string } | { N: string }>) =>
    raw.send(new PutItemCommand({ TableName: tableName, Item }));
  for (const [seq, text] of texts.entries()) {
    await put({
      pk: { S: sessionId },
      sk: { S: `i#${seq.toString(16).padStart(14, '0')}` },
      g: { N: String(GENERATION) },
      p: { N: String(seq - 1) },
      t: { S: text },
    });
  }
  await put({
    pk: { S: sessionId },
    sk: { S: 'm' },
    version: { N: String(texts.length) },
    generation: { N: String(GENERATION) },
    top: { N: String(texts.length - 1) },
    nextSeq: { N: String(texts.length) },
    createdAt: { N: String(dates.createdAt) },
    updatedAt: { N: String(dates.updatedAt) },
    ...(dates.expiresAtMs !== undefined && { expiresAtMs: { N: String(dates.expiresAtMs) } }),
  });
}

const texts = (tag: string, count: number) =>
  Array.from({ length: count }, (_, i) => JSON.stringify(message(`${tag}-${i}`)));

describe('a table written by the release before the catalog', () => {
  it('lists, describes, reads and writes its sessions once opened by this release', async () => {
    const tableName = await createOldTable(raw);
    const now = Date.now();
    await writeOldSession(tableName, 'old-a', texts('a', 3), { createdAt: now - 50_000, updatedAt: now - 40_000 });
    await writeOldSession(tableName, 'old-b', texts('b', 2), { createdAt: now - 30_000, updatedAt: now - 20_000 });
    await writeOldSession(tableName, 'old-c', texts('c', 1), { createdAt: now - 60_000, updatedAt: now - 10_000 });
    await writeOldSession(tableName, 'old-expired', texts('x', 2), {
      createdAt: now - 90_000,
      updatedAt: now - 80_000,
      expiresAtMs: now - 70_000,
    });

    const store = new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName });
    try {
      // First touch by a read: the count is computed, the dates are the old ones.
      expect(await store.getSessionInfo('old-a')).toEqual({
        sessionId: 'old-a',
        createdAt: new Date(now - 50_000),
        updatedAt: new Date(now - 40_000),
        itemCount: 3,
        metadata: {},
      });
      // First touch by a write: counted first, then the write counts for itself.
      await store.session('old-c').addItems([message('c-new')]);
      const c = await store.getSessionInfo('old-c');
      expect(c).toMatchObject({ itemCount: 2, createdAt: new Date(now - 60_000) });
      expect(c!.updatedAt.getTime()).toBeGreaterThanOrEqual(now);
      expect(await store.getSessionInfo('old-expired')).toBeUndefined();

      // The first listing finds no index: the table is backfilled and gets it, then it lists.
      const page = await store.listSessions();
      expect(page.sessions.map((info) => [info.sessionId, info.itemCount])).toEqual([
        ['old-c', 2],
        ['old-b', 2],
        ['old-a', 3],
      ]);
      expect(page.nextCursor).toBeUndefined();
      const { Table } = await raw.send(new DescribeTableCommand({ TableName: tableName }));
      expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['catalog']);

      // Untouched before the backfill: still its dates, its items, and writes keep counting.
      expect(page.sessions[1]).toMatchObject({ createdAt: new Date(now - 30_000), updatedAt: new Date(now - 20_000) });
      const b = store.session('old-b');
      expect(await b.getItems()).toEqual([message('b-0'), message('b-1')]);
      await b.addItems([message('b-2'), message('b-3')]);
      expect(await b.popItem()).toEqual(message('b-3'));
      await b.updateMetadata({ migrated: true });
      expect(await store.getSessionInfo('old-b')).toMatchObject({
        itemCount: 3,
        metadata: { migrated: true },
        createdAt: new Date(now - 30_000),
      });
      expect((await store.listSessions({ metadata: { migrated: true } })).sessions.map((s) => s.sessionId)).toEqual([
        'old-b',
      ]);
      await b.clearSession();
      expect(await store.getSessionInfo('old-b')).toMatchObject({ itemCount: 0, metadata: { migrated: true } });
      await store.deleteSession('old-a');
      expect((await store.listSessions()).sessions.map((s) => s.sessionId)).toEqual(['old-b', 'old-c']);
    } finally {
      await store.close();
    }
  });

  it('setup() backfills before it adds the index, and leaves no session to upgrade', async () => {
    const tableName = await createOldTable(raw);
    const now = Date.now();
    for (let i = 0; i < 30; i++) {
      await writeOldSession(tableName, `s${String(i).padStart(2, '0')}`, texts(`s${i}`, 1 + (i % 4)), {
        createdAt: now - 100_000,
        updatedAt: now - 100_000 + i,
      });
    }
    const store = new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName, createIfMissing: false });
    try {
      await store.setup();
      const listed = [];
      for await (const info of store.sessions({ pageSize: 7 })) listed.push(info);
      expect(listed.map((info) => info.sessionId)).toEqual(
        Array.from({ length: 30 }, (_, i) => `s${String(29 - i).padStart(2, '0')}`),
      );
      expect(listed.map((info) => info.itemCount)).toEqual(Array.from({ length: 30 }, (_, i) => 1 + ((29 - i) % 4)));
      // Every metadata row has its count now: a scan finds none to upgrade.
      expect(await backfillCatalog(raw, tableName)).toBe(0);
      const { Item } = await raw.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: 's07' }, sk: { S: 'm' } }, ConsistentRead: true }),
      );
      expect(Item).toMatchObject({ itemCount: { N: '4' }, createdAt: { N: String(now - 100_000) } });
    } finally {
      await store.close();
    }
  });
});
