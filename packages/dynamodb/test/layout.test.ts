import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { encodeItem } from '@sessions/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBSessionStore } from '../src/index.js';
import {
  dropTable,
  message,
  numbered,
  partitionRows,
  type RawRow,
  rawClient,
  screenshot,
  storedItemCount,
  uniqueTable,
} from './helpers.js';

const tableName = uniqueTable('layout');
const raw = rawClient();
const store = new DynamoDBSessionStore({ client: raw, tableName });
let run = 0;
const id = (label: string) => `layout-${label}-${run++}`;

beforeAll(() => store.ensureTable());
afterAll(async () => {
  await store.close();
  await dropTable(raw, tableName);
  raw.destroy();
});

const sk = (row: RawRow) => row.sk?.S ?? '';
const N = (row: RawRow | undefined, name: string) => (row?.[name]?.N === undefined ? undefined : Number(row[name]?.N));

async function meta(sessionId: string) {
  const { Item } = await raw.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: sessionId }, sk: { S: 'm' } }, ConsistentRead: true }),
  );
  return Item;
}

describe('key layout', () => {
  it('one row per item under the session id, chained from the metadata row, text stored canonically', async () => {
    const sessionId = id('rows');
    const items = [message('one', { z: 1, a: 2 }), message('two'), message('three')];
    await store.session(sessionId).addItems(items);
    const rows = await partitionRows(raw, tableName, sessionId);
    expect(rows.map(sk)).toEqual(['i#00000000000000', 'i#00000000000001', 'i#00000000000002', 'm']);
    const m = rows[3]!;
    expect(N(m, 'top')).toBe(2);
    expect(N(m, 'nextSeq')).toBe(3);
    expect(N(m, 'version')).toBe(1);
    const generation = N(m, 'generation');
    expect(generation).toBeGreaterThan(0);
    expect(rows.slice(0, 3).map((row) => row.t?.S)).toEqual(items.map((item) => encodeItem(item)));
    expect(rows[0]!.t?.S).toBe('{"a":2,"content":"one","role":"user","type":"message","z":1}');
    expect(rows.slice(0, 3).map((row) => N(row, 'p'))).toEqual([-1, 0, 1]);
    expect(rows.slice(0, 3).every((row) => N(row, 'g') === generation)).toBe(true);
    // Session ids are stored as they are: no prefix, no encoding.
    expect(rows.every((row) => row.pk?.S === sessionId)).toBe(true);
  });

  it('an item over 350 KB is split into chunk rows of at most 350,000 UTF-8 bytes, never inside a surrogate pair', async () => {
    const sessionId = id('chunks');
    const big = screenshot(1024 * 1024, 'chunks');
    // 4-byte characters at odd offsets so that a byte boundary falls inside a pair.
    const astral = message(`x${'😀'.repeat(200_000)}é`);
    const session = store.session(sessionId);
    await session.addItems([message('before'), big, astral]);
    const rows = (await partitionRows(raw, tableName, sessionId)).filter((row) => sk(row).startsWith('i#'));
    const bytes = rows.map((row) => Buffer.byteLength(row.t?.S ?? '', 'utf8'));
    expect(Math.max(...bytes)).toBeLessThanOrEqual(350_000);
    expect(rows.length).toBe(1 + 3 + 3);
    expect(rows.slice(1, 4).map((row) => [N(row, 'k'), N(row, 'n')])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    for (const row of rows) expect(row.t?.S?.isWellFormed()).toBe(true);
    expect(await session.getItems()).toEqual([message('before'), big, astral]);
    expect(await session.getItems(1)).toEqual([astral]);
    expect(await storedItemCount(raw, tableName, sessionId)).toBe(3);
    expect(await session.popItem()).toEqual(astral);
    expect(await session.popItem()).toEqual(big);
    expect((await partitionRows(raw, tableName, sessionId)).map(sk)).toEqual(['i#00000000000000', 'm']);
  });
});

describe('operation ids', () => {
  const append = (operationId: string, text: string) => ({
    operationId,
    transaction: { type: 'append_items' as const, items: [message(text)] },
  });

  it('are rows o#<id> with the fingerprint; compaction keeps them, clearSession forgets them', async () => {
    const sessionId = id('ops');
    const session = store.session(sessionId);
    await session.applyHistoryTransaction(append('op-1', 'a'));
    const op = (await partitionRows(raw, tableName, sessionId)).find((row) => sk(row) === 'o#op-1');
    expect(op?.fp?.S).toMatch(/^[0-9a-f]{32}$/);
    expect(N(op, 'expiresAt')).toBeGreaterThan(Date.now() / 1000 + 86_000);
    // Compaction keeps the history's operation ids: a retry stays a no-op.
    await session.replaceHistoryWithCompaction([message('summary')]);
    await session.applyHistoryTransaction(append('op-1', 'a'));
    expect(await session.getItems()).toEqual([message('summary')]);
    // clearSession forgets them (and deletes the rows): the same id applies again.
    await session.clearSession();
    expect((await partitionRows(raw, tableName, sessionId)).map(sk)).toEqual(['m']);
    await session.applyHistoryTransaction(append('op-1', 'b'));
    expect(await session.getItems()).toEqual([message('b')]);
  });

  it('a retried replace_suffix that already applied succeeds without changing anything', async () => {
    const session = store.session(id('retry'));
    const items = numbered('r', 3);
    await session.addItems(items);
    const args = {
      operationId: 'op-replace',
      transaction: { type: 'replace_suffix' as const, expectedSuffix: items.slice(1), replacement: [message('new')] },
    };
    await session.applyHistoryTransaction(args);
    await session.addItems([message('later')]);
    await store.session(session.sessionId).applyHistoryTransaction(args);
    expect(await session.getItems()).toEqual([items[0], message('new'), message('later')]);
  });
});

describe('ttl', () => {
  it('rows carry a DynamoDB TTL past the session expiry; the metadata holds the exact expiry; a write slides both', async () => {
    const ttlStore = new DynamoDBSessionStore({ client: raw, tableName, ttlSeconds: 3600 });
    const sessionId = id('ttl');
    const before = Date.now();
    await ttlStore.session(sessionId).addItems(numbered('t', 2));
    const m = await meta(sessionId);
    const expiresAtMs = N(m, 'expiresAtMs') as number;
    expect(expiresAtMs).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(expiresAtMs).toBeLessThanOrEqual(Date.now() + 3_600_000);
    const rows = await partitionRows(raw, tableName, sessionId);
    for (const row of rows) {
      // Physical deletion never comes before the session expires (one day of slack).
      expect(N(row, 'expiresAt')).toBeGreaterThanOrEqual(Math.ceil(expiresAtMs / 1000) + 86_400);
    }
    await ttlStore.session(sessionId).addItems([message('later')]);
    expect(N(await meta(sessionId), 'expiresAtMs')).toBeGreaterThanOrEqual(expiresAtMs);
  });

  it('rows whose TTL would come before the session expiry are stamped again by the next write', async () => {
    const ttlStore = new DynamoDBSessionStore({ client: raw, tableName, ttlSeconds: 60 });
    const sessionId = id('refresh');
    await ttlStore.session(sessionId).addItems(numbered('old', 30));
    // Pretend the rows were written long ago: their TTL is due in 10 s.
    const soon = Math.ceil(Date.now() / 1000) + 10;
    for (const row of await partitionRows(raw, tableName, sessionId)) {
      const field = sk(row) === 'm' ? 'rowsExpireAt' : 'expiresAt';
      await raw.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: sessionId }, sk: { S: sk(row) } },
          UpdateExpression: 'SET #f = :v',
          ExpressionAttributeNames: { '#f': field },
          ExpressionAttributeValues: { ':v': { N: String(soon) } },
        }),
      );
    }
    await ttlStore.session(sessionId).addItems([message('new')]);
    const rows = await partitionRows(raw, tableName, sessionId);
    const minimum = Math.ceil(Date.now() / 1000) + 60 + 86_400 - 5;
    for (const row of rows.filter((r) => sk(r).startsWith('i#'))) expect(N(row, 'expiresAt')).toBeGreaterThan(minimum);
    expect(N(await meta(sessionId), 'rowsExpireAt')).toBeGreaterThan(minimum - 3_600);
    expect(await ttlStore.session(sessionId).getItems()).toHaveLength(31);
    // A handle without a TTL keeps the session forever: it removes the rows' TTL.
    await store.session(sessionId).addItems([message('forever')]);
    const after = await partitionRows(raw, tableName, sessionId);
    expect(after.filter((row) => row.expiresAt !== undefined)).toEqual([]);
  });

  it('a write to an expired session starts a new generation; the old rows never come back', async () => {
    const ttlStore = new DynamoDBSessionStore({ client: raw, tableName, ttlSeconds: 0.3 });
    const sessionId = id('expired');
    const session = ttlStore.session(sessionId);
    await session.addItems(numbered('old', 3));
    const firstGeneration = N(await meta(sessionId), 'generation') as number;
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await session.getItems()).toEqual([]);
    await session.addItems([message('fresh')]);
    expect(await session.getItems()).toEqual([message('fresh')]);
    expect(N(await meta(sessionId), 'generation')).toBeGreaterThan(firstGeneration);
    // The old rows are still there physically until DynamoDB's TTL removes them.
    expect(await storedItemCount(raw, tableName, sessionId)).toBe(4);
    expect(await session.popItem()).toEqual(message('fresh'));
    expect(await session.popItem()).toBeUndefined();
  });
});
