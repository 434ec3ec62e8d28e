import { expect } from 'vitest';
import type { ContractCase } from '../types.js';
import { message, sleep } from './helpers.js';

const group = 'ttl';

export const ttlCases: ContractCase[] = [
  {
    group,
    name: 'a session expires ttlSeconds after its last write and reads as empty at once',
    when: (c) => c.ttl,
    async run(ctx) {
      const store = await ctx.openStore({ ttlSeconds: 1 });
      const session = store.session(ctx.idFor());
      await session.addItems([message('short-lived')]);
      expect(await session.getItems()).toEqual([message('short-lived')]);
      await sleep(1600);
      expect(await session.getItems()).toEqual([]);
      expect(await session.getItems(5)).toEqual([]);
      expect(await session.popItem()).toBeUndefined();
      // Writing again starts a fresh history: nothing of the expired one comes back.
      await session.addItems([message('fresh')]);
      expect(await session.getItems()).toEqual([message('fresh')]);
    },
  },
  {
    group,
    name: 'every write slides the expiry; a store without ttl keeps items',
    when: (c) => c.ttl,
    async run(ctx) {
      const store = await ctx.openStore({ ttlSeconds: 2 });
      const session = store.session(ctx.idFor());
      const forever = ctx.session('no-ttl');
      await forever.addItems([message('kept')]);
      await session.addItems([message('one'), message('popped')]);
      await sleep(1200);
      // A pop is a write too: it slides the expiry.
      expect(await session.popItem()).toEqual(message('popped'));
      await sleep(1200);
      await session.addItems([message('two')]);
      await sleep(1200);
      expect(await session.getItems()).toEqual([message('one'), message('two')]);
      await sleep(1400);
      expect(await session.getItems()).toEqual([]);
      expect(await forever.getItems()).toEqual([message('kept')]);
    },
  },
  {
    group,
    name: 'a store that does not support ttlSeconds refuses it',
    when: (c) => !c.ttl,
    async run(ctx) {
      await expect(ctx.openStore({ ttlSeconds: 1 })).rejects.toThrow();
    },
  },
];
