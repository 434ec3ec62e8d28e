/**
 * The catalog on DynamoDB beyond the contract: what a page costs, what the index holds, and the
 * edges of this layout (tombstones, expired sessions, a missing table).
 */
import { DescribeTableCommand, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDBSessionStore } from '../src/index.js';
import { clientConfig, message, partitionRows, tableForTests, uniqueTable } from './helpers.js';

const { tableName, raw, commands, store } = tableForTests('catalog');

/** Index entries of a session, read with the raw driver from every shard (there are 16). */
async function indexEntries(sessionId: string): Promise<number> {
  let found = 0;
  for (let shard = 0; shard < 16; shard++) {
    const page = await raw.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'catalog',
        KeyConditionExpression: 'catalogShard = :s',
        ExpressionAttributeValues: { ':s': { S: String(shard) } },
      }),
    );
    found += (page.Items ?? []).filter((row) => row.pk?.S === sessionId).length;
  }
  return found;
}

describe('the catalog index', () => {
  it('a page costs one parallel round of 16 queries, at 30 sessions as at 150', async () => {
    const tag = `cost-${Date.now()}`;
    const sizes: Record<number, number> = {};
    let written = 0;
    for (const total of [30, 150]) {
      // Ten writers at a time: DynamoDB Local is one JVM.
      for (; written < total; written += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.session(`${tag}-${written + i}`).addItems([message('x')])),
        );
      }
      commands.reset();
      const page = await store.listSessions({ limit: 20 });
      expect(page.sessions).toHaveLength(20);
      sizes[total] = commands.counts.Query ?? 0;
      expect(Object.keys(commands.counts)).toEqual(['Query']);
    }
    expect(sizes).toEqual({ 30: 16, 150: 16 });
  });

  it('one entry per session, moved by each write; deleteSession leaves a tombstone outside the index', async () => {
    const id = `tomb-${Date.now()}`;
    const session = store.session(id);
    await session.addItems([message('a'), message('b')]);
    await session.updateMetadata({ owner: 'ada' });
    await session.popItem();
    expect(await indexEntries(id)).toBe(1);
    await store.deleteSession(id);
    expect(await indexEntries(id)).toBe(0);
    const rows = await partitionRows(raw, tableName, id);
    // Only the metadata row is left: no items, no labels, no count.
    expect(rows.map((row) => row.sk?.S)).toEqual(['m']);
    expect(rows[0]).not.toHaveProperty('labels');
    expect(rows[0]).not.toHaveProperty('itemCount');
    // Written again, it starts over: new dates, no metadata.
    await session.addItems([message('again')]);
    const info = await store.getSessionInfo(id);
    expect(info).toMatchObject({ itemCount: 1, metadata: {} });
    expect(await indexEntries(id)).toBe(1);
  });

  it('clearSession on an expired session clears nothing and brings nothing back', async () => {
    const short = new DynamoDBSessionStore({ clientConfig: clientConfig(), tableName, ttlSeconds: 0.3 });
    try {
      const id = `expired-clear-${Date.now()}`;
      await short.session(id).updateMetadata({ gone: true });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await short.session(id).clearSession();
      await store.session(id).clearSession();
      expect(await store.getSessionInfo(id)).toBeUndefined();
      expect(await store.session(id).getMetadata()).toEqual({});
      const { Item } = await raw.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: id }, sk: { S: 'm' } }, ConsistentRead: true }),
      );
      expect(Number(Item?.expiresAtMs?.N)).toBeLessThan(Date.now());
    } finally {
      await short.close();
    }
  });

  it('with createIfMissing: false, a missing table lists nothing and is not created', async () => {
    const missing = uniqueTable('nocatalog');
    const reader = new DynamoDBSessionStore({
      clientConfig: clientConfig(),
      tableName: missing,
      createIfMissing: false,
    });
    try {
      expect(await reader.listSessions()).toEqual({ sessions: [] });
      expect(await reader.getSessionInfo('x')).toBeUndefined();
      await reader.deleteSession('x');
      await expect(raw.send(new DescribeTableCommand({ TableName: missing }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    } finally {
      await reader.close();
    }
  });
});
