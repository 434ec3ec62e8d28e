import { expect } from 'vitest';
import type { ContractCase } from '../types.js';
import { expectStored, message, numbered } from './helpers.js';

const group = 'concurrency';

export const concurrencyCases: ContractCase[] = [
  {
    group,
    name: '20 writers x 10 batches on one session: nothing lost or duplicated, every batch contiguous and in order',
    async run(ctx) {
      const writers = 20;
      const batches = 10;
      const batchSize = 3;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const session = ctx.store.session(ctx.idFor()); // a handle per writer, like separate requests
          for (let b = 0; b < batches; b++) {
            await session.addItems(
              Array.from({ length: batchSize }, (_, i) => message(`w${w}b${b}i${i}`, { w, b, i })),
            );
          }
        }),
      );
      const items = await ctx.session().getItems();
      expect(items).toHaveLength(writers * batches * batchSize);
      expect(new Set(items.map((item) => item.content)).size).toBe(items.length);
      const lastBatch = new Map<number, number>();
      for (let k = 0; k < items.length; k += batchSize) {
        const { w, b } = items[k];
        for (let i = 0; i < batchSize; i++) {
          expect(items[k + i], `batch w${w}b${b} is contiguous`).toMatchObject({ w, b, i });
        }
        expect(b, `writer ${w}'s batches are in order`).toBe((lastBatch.get(w) ?? -1) + 1);
        lastBatch.set(w, b);
      }
      await expectStored(ctx, undefined, writers * batches * batchSize);
    },
  },
  {
    group,
    name: '50 concurrent popItem on 30 items: 30 distinct items and 20 undefined',
    async run(ctx) {
      const items = numbered('pop', 30);
      await ctx.session().addItems(items);
      const popped = await Promise.all(Array.from({ length: 50 }, () => ctx.store.session(ctx.idFor()).popItem()));
      const found = popped.filter((item) => item !== undefined);
      expect(found).toHaveLength(30);
      expect(new Set(found.map((item) => item.content)).size).toBe(30);
      expect(popped.filter((item) => item === undefined)).toHaveLength(20);
      expect(found.map((item) => item.i).sort((a, b) => a - b)).toEqual(items.map((item) => item.i));
      expect(await ctx.session().getItems()).toEqual([]);
      await expectStored(ctx, undefined, 0);
    },
  },
  {
    group,
    name: 'concurrent adds and pops: every item is either popped once or still stored',
    async run(ctx) {
      const initial = numbered('init', 20);
      await ctx.session().addItems(initial);
      const added = Array.from({ length: 10 }, (_, b) => numbered(`add${b}`, 2));
      const results = await Promise.all([
        ...added.map((batch) =>
          ctx.store
            .session(ctx.idFor())
            .addItems(batch)
            .then(() => undefined),
        ),
        ...Array.from({ length: 15 }, () => ctx.store.session(ctx.idFor()).popItem()),
      ]);
      const popped = results.filter((item) => item !== undefined);
      const remaining = await ctx.session().getItems();
      const all = [...popped, ...remaining].map((item) => item.content).sort();
      const expected = [...initial, ...added.flat()].map((item) => item.content).sort();
      expect(all).toEqual(expected);
      expect(popped).toHaveLength(15);
      // What remains keeps the relative order in which it was written.
      const initialLeft = remaining.filter((item) => item.tag === 'init').map((item) => item.i);
      expect(initialLeft).toEqual([...initialLeft].sort((a, b) => a - b));
      await expectStored(ctx, undefined, remaining.length);
    },
  },
];
