import { SessionItemTooLargeError } from '@sessions/core';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { MongoSession, MongoSessionStore } from '../src/index.js';
import {
  DATABASE,
  dropCollections,
  message,
  rawClient,
  rawCommits,
  rawParts,
  storedItemCount,
  uniquePrefix,
  url,
} from './helpers.js';

const MiB = 1024 * 1024;
const raw = await rawClient();
const db = raw.db(DATABASE);
const prefix = uniquePrefix('large');
const monitored = new MongoClient(url, { monitorCommands: true });
const commands: { name: string; collection?: string; docs?: number }[] = [];
monitored.on('commandStarted', (event) =>
  commands.push({ name: event.commandName, collection: String(event.command[event.commandName]) }),
);
monitored.on('commandSucceeded', (event) => {
  const batch = (event.reply as { cursor?: { firstBatch?: unknown[] } }).cursor?.firstBatch;
  if (batch) commands.at(-1)!.docs = batch.length;
});
const store = new MongoSessionStore({ client: monitored, database: DATABASE, collectionPrefix: prefix });

afterAll(async () => {
  await store.close();
  await monitored.close();
  await dropCollections(db, prefix);
  await raw.close();
});

/** A computer-use screenshot of `bytes` characters of base64-like text. */
function screenshot(bytes: number, seed: string) {
  const chunk = `${seed}${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.repeat(64)}`;
  const data = chunk.repeat(Math.ceil(bytes / chunk.length)).slice(0, bytes);
  return { type: 'computer_call_result', callId: `call_${seed}`, output: { type: 'computer_screenshot', data } };
}

describe('batches larger than one document', () => {
  it('round-trip atomically through overflow documents, and reads fetch only the parts they need', async () => {
    const session = store.session('big-batch');
    const batch = [
      message('start'),
      screenshot(6 * MiB, 'a'),
      screenshot(6 * MiB, 'b'),
      screenshot(6 * MiB, 'c'),
      message('end'),
    ];
    await session.addItems([message('first')]);

    // A reader polling while the 18 MiB batch is written sees all of it or none of it.
    let written = false;
    const writing = session.addItems(batch).finally(() => {
      written = true;
    });
    const lengths = new Set<number>();
    while (!written) lengths.add((await store.session('big-batch').getItems()).length);
    await writing;
    for (const length of lengths) expect([1, 6]).toContain(length);

    const [, commit] = await rawCommits(db, prefix, 'big-batch');
    expect(commit!.items).toBeUndefined();
    expect(commit!.count).toBe(5);
    expect(commit!.parts.map((ref: { n: number }) => ref.n)).toEqual([3, 2]); // start + 2 × 6 MiB, then 6 MiB + end
    const parts = await rawParts(db, prefix, 'big-batch');
    for (const part of parts) expect(JSON.stringify(part).length).toBeLessThan(16 * MiB);
    expect(await storedItemCount(db, prefix, 'big-batch')).toBe(6);

    commands.length = 0;
    expect(await session.getItems(2)).toEqual([batch[3], batch[4]]);
    const partReads = commands.filter((c) => c.collection === `${prefix}history_parts`);
    expect(partReads).toEqual([{ name: 'find', collection: `${prefix}history_parts`, docs: 1 }]);
    expect(await session.getItems()).toEqual([message('first'), ...batch]);

    // Popping rewrites only the last part; the kept part is linked, not copied.
    expect(await session.popItem()).toEqual(batch[4]);
    const popped = (await rawCommits(db, prefix, 'big-batch')).at(-1)!;
    expect(popped.parts[0].id.equals(commit!.parts[0].id)).toBe(true);
    expect(popped.parts.map((ref: { n: number }) => ref.n)).toEqual([3, 1]);
    expect(await storedItemCount(db, prefix, 'big-batch')).toBe(5);
    expect(await session.getItems(1)).toEqual([batch[3]]);

    // A transaction replacing a suffix that spans parts.
    await session.applyHistoryTransaction({
      operationId: 'shrink',
      transaction: { type: 'replace_suffix', expectedSuffix: [batch[2], batch[3]], replacement: [message('summary')] },
    });
    expect(await session.getItems()).toEqual([message('first'), batch[0], batch[1], message('summary')]);
    expect(await storedItemCount(db, prefix, 'big-batch')).toBe(4);

    // Compaction to big items, then a clear: every overflow document goes with its commit.
    await session.replaceHistoryWithCompaction([batch[1], batch[2], batch[3]]);
    expect(await session.getItems()).toEqual([batch[1], batch[2], batch[3]]);
    expect(await storedItemCount(db, prefix, 'big-batch')).toBe(3);
    await session.clearSession();
    expect(await session.getItems()).toEqual([]);
    expect(await rawParts(db, prefix, 'big-batch')).toEqual([]);
    expect(await storedItemCount(db, prefix, 'big-batch')).toBe(0);
  });

  it('an item of exactly the maximum size round-trips; one byte more is refused before any write', async () => {
    const max = MongoSession.maxItemBytes;
    const envelope = JSON.stringify(screenshot(0, 'max')).length;
    const biggest = screenshot(max - envelope, 'max');
    expect(JSON.stringify(biggest).length).toBe(max);
    const session = store.session('max-item');
    await session.addItems([biggest]);
    expect(await session.getItems()).toEqual([biggest]);
    commands.length = 0;
    const error = await session
      .addItems([message('x'), screenshot(max - envelope + 1, 'max')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionItemTooLargeError);
    expect(error).toMatchObject({ path: 'items[1]', sizeBytes: max + 1, maxBytes: max });
    expect(commands).toEqual([]);
    expect(await storedItemCount(db, prefix, 'max-item')).toBe(1);
  });

  it('issue #14: an oversized history mutation is refused before any command, not after reading the history', async () => {
    const max = MongoSession.maxItemBytes;
    const call = { type: 'function_call', callId: 'call_big', name: 'f', arguments: '{}' };
    const session = store.session('mutation-size');
    await session.addItems([message('before'), call]);
    commands.length = 0;
    const oversized = { ...call, arguments: 'x'.repeat(max) };
    const error = await session
      .applyHistoryMutations({
        mutations: [{ type: 'replace_function_call', callId: 'call_big', replacement: oversized }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionItemTooLargeError);
    expect(error).toMatchObject({ path: 'mutations[0].replacement', maxBytes: max });
    expect(commands).toEqual([]);
    expect(await session.getItems()).toEqual([message('before'), call]);
    // One that fits is applied as before.
    const fits = { ...call, arguments: '{"ok":true}' };
    await session.applyHistoryMutations({
      mutations: [{ type: 'replace_function_call', callId: 'call_big', replacement: fits }],
    });
    expect(await session.getItems()).toEqual([message('before'), fits]);
  });
});
