import { BatchWriteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { encodeItem, SessionCorruptDataError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { message, numbered, partitionRows, screenshot, storedItemCount, tableForTests } from './helpers.js';

const { tableName, raw, commands, store } = tableForTests('scale');

const contents = (items: { content?: unknown }[]) => items.map((item) => item.content);

describe('long histories', () => {
  it('5,000 items (3 MB, several 1 MB Query pages) are read back completely and by limit', async () => {
    const session = store.session('five-thousand');
    // ~600 bytes per item: the history is about 3 MB, so a full read needs several pages.
    const items = numbered('h', 5000, 540);
    commands.reset();
    for (let i = 0; i < 5000; i += 98) await session.addItems(items.slice(i, i + 98));
    // 98 items per call fit one transaction: one round trip each (plus one cold metadata read).
    expect(commands.counts).toEqual({ GetItem: 1, TransactWriteItems: 52 });
    expect(await storedItemCount(raw, tableName, session.sessionId)).toBe(5000);

    commands.reset();
    const all = await store.session(session.sessionId).getItems();
    expect(all.length).toBe(5000);
    expect(all).toEqual(items);
    expect(commands.counts.Query).toBeGreaterThanOrEqual(3); // it followed LastEvaluatedKey

    commands.reset();
    expect(await session.getItems(10)).toEqual(items.slice(-10));
    expect(commands.counts).toEqual({ Query: 1 });
    expect(contents(await session.getItems(1))).toEqual(contents(items.slice(-1)));
    expect(await session.getItems(4999)).toEqual(items.slice(1));

    expect(await session.popItem()).toEqual(items[4999]);
    expect(await session.getItems(2)).toEqual(items.slice(4997, 4999));
  });

  it('clearSession deletes a history larger than one Query page, and the session is reusable', async () => {
    const session = store.session('clear-pages');
    const items = numbered('c', 60, 20_000); // 1.2 MB
    await session.addItems(items.slice(0, 30));
    await session.addItems(items.slice(30));
    await session.applyHistoryTransaction({
      operationId: 'before-clear',
      transaction: { type: 'append_items', items: [message('op')] },
    });
    expect(await storedItemCount(raw, tableName, session.sessionId)).toBe(61);
    commands.reset();
    await session.clearSession();
    expect(commands.counts.Query).toBeGreaterThanOrEqual(2); // paged through the partition
    expect(await session.getItems()).toEqual([]);
    const left = await partitionRows(raw, tableName, session.sessionId);
    expect(left.map((row) => row.sk?.S)).toEqual(['m']);
    await session.addItems([message('again')]);
    expect(await store.session(session.sessionId).getItems()).toEqual([message('again')]);
  });
});

describe('batches larger than one transaction (100 actions / 4 MB)', () => {
  it('150 items in one addItems appear all at once to concurrent readers', async () => {
    const session = store.session('big-batch');
    await session.addItems(numbered('base', 2));
    const batch = numbered('big', 150);
    let done = false;
    const writing = session.addItems(batch).finally(() => {
      done = true;
    });
    const reader = store.session(session.sessionId);
    while (!done) {
      const read = await reader.getItems();
      expect(read.length === 2 || read.length === 152).toBe(true);
    }
    await writing;
    expect(await reader.getItems()).toEqual([...numbered('base', 2), ...batch]);
    expect(await storedItemCount(raw, tableName, session.sessionId)).toBe(152);
  });

  it('five 1 MiB screenshots in one call (over 4 MB) are atomic and round-trip', async () => {
    const session = store.session('big-bytes');
    const shots = Array.from({ length: 5 }, (_, i) => screenshot(1024 * 1024, `shot${i}`));
    await session.addItems([message('before'), ...shots]);
    expect(await session.getItems(2)).toEqual(shots.slice(-2));
    expect(await session.getItems()).toEqual([message('before'), ...shots]);
    expect(await session.popItem()).toEqual(shots[4]);
    await session.replaceHistoryWithCompaction([message('summary'), ...shots.slice(0, 4)]);
    expect(await session.getItems()).toEqual([message('summary'), ...shots.slice(0, 4)]);
    expect(await storedItemCount(raw, tableName, session.sessionId)).toBe(5);
  });

  it('replace_suffix and compaction with 120-item replacements are atomic', async () => {
    const session = store.session('big-replace');
    const start = numbered('s', 5);
    await session.addItems(start);
    const replacement = numbered('rep', 120);
    await session.applyHistoryTransaction({
      operationId: 'big-op',
      transaction: { type: 'replace_suffix', expectedSuffix: start.slice(3), replacement },
    });
    expect(await session.getItems()).toEqual([...start.slice(0, 3), ...replacement]);
    // Idempotent, and a stale suffix changes nothing.
    await session.applyHistoryTransaction({
      operationId: 'big-op',
      transaction: { type: 'replace_suffix', expectedSuffix: start.slice(3), replacement },
    });
    await expect(
      session.applyHistoryTransaction({
        operationId: 'big-op-2',
        transaction: { type: 'replace_suffix', expectedSuffix: start.slice(3), replacement },
      }),
    ).rejects.toMatchObject({ reason: 'suffix_mismatch' });
    expect(await session.getItems()).toHaveLength(123);
    const compacted = numbered('c', 110);
    await session.replaceHistoryWithCompaction(compacted);
    expect(await session.getItems()).toEqual(compacted);
    expect(await storedItemCount(raw, tableName, session.sessionId)).toBe(110);
  });
});

describe('failures half-way', () => {
  it('rows a writer staged but never linked (it crashed) stay invisible; clearSession removes them', async () => {
    const session = store.session('crashed-writer');
    await session.addItems(numbered('kept', 3));
    // What a crashed large write leaves: a reserved range and rows in it, not linked.
    const reserved = await raw.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: session.sessionId }, sk: { S: 'm' } },
        UpdateExpression: 'ADD nextSeq :n, version :one',
        ExpressionAttributeValues: { ':n': { N: '20' }, ':one': { N: '1' } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const start = Number(reserved.Attributes?.nextSeq?.N) - 20;
    const generation = reserved.Attributes?.generation?.N as string;
    await raw.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [tableName]: Array.from({ length: 20 }, (_, i) => ({
            PutRequest: {
              Item: {
                pk: { S: session.sessionId },
                sk: { S: `i#${(start + i).toString(16).padStart(14, '0')}` },
                g: { N: generation },
                p: { N: String(i === 0 ? start - 1 : start + i - 1) },
                t: { S: encodeItem(message(`orphan-${i}`)) },
              },
            },
          })),
        },
      }),
    );
    expect(await store.session(session.sessionId).getItems()).toEqual(numbered('kept', 3));
    await session.addItems([message('next')]);
    expect(await store.session(session.sessionId).getItems()).toEqual([...numbered('kept', 3), message('next')]);
    expect(await storedItemCount(raw, tableName, session.sessionId)).toBe(24);
    await session.clearSession();
    expect(await storedItemCount(raw, tableName, session.sessionId)).toBe(0);
  });

  it('a row missing from the chain is reported as corrupt data, never as a shorter history', async () => {
    const session = store.session('broken-chain');
    await session.addItems(numbered('b', 5));
    await raw.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [tableName]: [{ DeleteRequest: { Key: { pk: { S: session.sessionId }, sk: { S: 'i#00000000000002' } } } }],
        },
      }),
    );
    expect(await session.getItems(2)).toEqual(numbered('b', 5).slice(3));
    await expect(session.getItems()).rejects.toBeInstanceOf(SessionCorruptDataError);
  });
});
