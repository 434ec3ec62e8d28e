import { SessionConflictError } from '@sessions/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBSessionStore } from '../src/index.js';
import { dropTable, message, numbered, rawClient, storedItemCount, uniqueTable } from './helpers.js';

// Each store has its own client: nothing is shared between them but the table, as between
// processes, so every race is decided by DynamoDB's conditional writes alone.
const tableName = uniqueTable('concurrency');
const raw = rawClient();
const clients = Array.from({ length: 4 }, () => rawClient());
const stores = clients.map((client) => new DynamoDBSessionStore({ client, tableName }));

beforeAll(() => stores[0]!.ensureTable());
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  for (const client of clients) client.destroy();
  await dropTable(raw, tableName);
  raw.destroy();
});

describe('writers with separate clients on one session', () => {
  it('4 clients x 2 writers x 6 batches: nothing lost or duplicated, batches contiguous, each writer in order', async () => {
    const id = 'writers';
    await Promise.all(
      stores.flatMap((store, c) =>
        Array.from({ length: 2 }, async (_, w) => {
          const session = store.session(id);
          for (let b = 0; b < 6; b++) {
            await session.addItems(
              Array.from({ length: 3 }, (_, i) => message(`c${c}w${w}b${b}i${i}`, { c, w, b, i })),
            );
          }
        }),
      ),
    );
    const items = await stores[0]!.session(id).getItems();
    expect(items).toHaveLength(4 * 2 * 6 * 3);
    expect(new Set(items.map((item) => item.content)).size).toBe(items.length);
    const last = new Map<string, number>();
    for (let k = 0; k < items.length; k += 3) {
      const { c, w, b } = items[k] as unknown as { c: number; w: number; b: number };
      for (let i = 0; i < 3; i++) expect(items[k + i]).toMatchObject({ c, w, b, i });
      expect(b).toBe((last.get(`${c}/${w}`) ?? -1) + 1);
      last.set(`${c}/${w}`, b);
    }
    expect(await storedItemCount(raw, tableName, id)).toBe(items.length);
  });

  it('adds, pops and transactions from 4 clients: every item is popped once or still stored, in order', async () => {
    const id = 'mixed';
    const initial = numbered('init', 16);
    await stores[0]!.session(id).addItems(initial);
    const added = Array.from({ length: 8 }, (_, b) => numbered(`add${b}`, 2));
    const transacted = Array.from({ length: 4 }, (_, b) => numbered(`tx${b}`, 2));
    const results = await Promise.all([
      ...added.map((batch, k) =>
        stores[k % 4]!.session(id)
          .addItems(batch)
          .then(() => undefined),
      ),
      ...transacted.map((batch, k) =>
        stores[(k + 1) % 4]!.session(id)
          .applyHistoryTransaction({ operationId: `tx-${k}`, transaction: { type: 'append_items', items: batch } })
          .then(() => undefined),
      ),
      ...Array.from({ length: 12 }, (_, k) => stores[(k + 2) % 4]!.session(id).popItem()),
    ]);
    const popped = results.filter((item) => item !== undefined);
    expect(popped).toHaveLength(12);
    const remaining = await stores[3]!.session(id).getItems();
    const all = [...popped, ...remaining].map((item) => item.content).sort();
    const expected = [...initial, ...added.flat(), ...transacted.flat()].map((item) => item.content).sort();
    expect(all).toEqual(expected);
    const initialLeft = remaining.filter((item) => item.tag === 'init').map((item) => item.i as number);
    expect(initialLeft).toEqual([...initialLeft].sort((a, b) => a - b));
    expect(await storedItemCount(raw, tableName, id)).toBe(remaining.length);
  });

  it('of concurrent replace_suffix from several clients exactly one wins', async () => {
    const id = 'race';
    const items = numbered('r', 4);
    await stores[0]!.session(id).addItems(items);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, k) =>
        stores[k % 4]!.session(id).applyHistoryTransaction({
          operationId: `race-${k}`,
          transaction: { type: 'replace_suffix', expectedSuffix: items.slice(2), replacement: [message(`w${k}`)] },
        }),
      ),
    );
    const winners = results.flatMap((r, k) => (r.status === 'fulfilled' ? [k] : []));
    expect(winners).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SessionConflictError);
    expect(await stores[1]!.session(id).getItems()).toEqual([...items.slice(0, 2), message(`w${winners[0]}`)]);
  });

  it('a reader on another client never sees part of a batch', async () => {
    const id = 'reader';
    let done = false;
    const writing = Promise.all(
      stores.slice(0, 3).map(async (store, c) => {
        for (let b = 0; b < 5; b++) await store.session(id).addItems(numbered(`c${c}b${b}`, 5));
      }),
    ).finally(() => {
      done = true;
    });
    const reader = stores[3]!.session(id);
    let reads = 0;
    while (!done || reads === 0) {
      const items = await reader.getItems();
      reads++;
      expect(items.length % 5).toBe(0);
      for (let k = 0; k < items.length; k += 5) {
        const tag = items[k]!.tag;
        expect(items.slice(k, k + 5).map((item) => [item.tag, item.i])).toEqual([0, 1, 2, 3, 4].map((i) => [tag, i]));
      }
    }
    await writing;
    expect(await reader.getItems()).toHaveLength(75);
  });
});
