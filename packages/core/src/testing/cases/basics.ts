import { expect } from 'vitest';
import type { ContractCase } from '../types.js';
import { expectStored, message, numbered } from './helpers.js';

const group = 'basics';

export const basicCases: ContractCase[] = [
  {
    group,
    name: 'a new session is empty',
    async run(ctx) {
      const session = ctx.session();
      expect(await session.getSessionId()).toBe(ctx.idFor());
      expect(await session.getItems()).toEqual([]);
      expect(await session.getItems(5)).toEqual([]);
      expect(await session.popItem()).toBeUndefined();
      await expectStored(ctx, undefined, 0);
    },
  },
  {
    group,
    name: 'items added are read back in order across several adds',
    async run(ctx) {
      const session = ctx.session();
      const first = numbered('a', 3);
      const second = numbered('b', 1);
      const third = numbered('c', 4);
      await session.addItems(first);
      await session.addItems(second);
      await session.addItems(third);
      expect(await session.getItems()).toEqual([...first, ...second, ...third]);
      await expectStored(ctx, undefined, 8);
    },
  },
  {
    group,
    name: 'limit returns the newest items, oldest first',
    async run(ctx) {
      const session = ctx.session();
      const items = numbered('x', 7);
      await session.addItems(items.slice(0, 4));
      await session.addItems(items.slice(4));
      expect(await session.getItems(0)).toEqual([]);
      expect(await session.getItems(1)).toEqual(items.slice(6));
      expect(await session.getItems(3)).toEqual(items.slice(4));
      expect(await session.getItems(5)).toEqual(items.slice(2));
      expect(await session.getItems(7)).toEqual(items);
      expect(await session.getItems(100)).toEqual(items);
      expect(await session.getItems(undefined)).toEqual(items);
    },
  },
  {
    group,
    name: 'popItem removes and returns the newest item, then undefined when empty',
    async run(ctx) {
      const session = ctx.session();
      const items = numbered('p', 3);
      await session.addItems(items);
      expect(await session.popItem()).toEqual(items[2]);
      expect(await session.getItems()).toEqual(items.slice(0, 2));
      await expectStored(ctx, undefined, 2);
      expect(await session.popItem()).toEqual(items[1]);
      expect(await session.popItem()).toEqual(items[0]);
      expect(await session.popItem()).toBeUndefined();
      expect(await session.getItems()).toEqual([]);
      await expectStored(ctx, undefined, 0);
      await session.addItems([message('after')]);
      expect(await session.getItems()).toEqual([message('after')]);
    },
  },
  {
    group,
    name: 'clearSession forgets everything and the session can be reused',
    async run(ctx) {
      const session = ctx.session();
      await session.addItems(numbered('c', 5));
      await session.clearSession();
      expect(await session.getItems()).toEqual([]);
      expect(await session.popItem()).toBeUndefined();
      await expectStored(ctx, undefined, 0);
      await session.clearSession();
      const again = numbered('again', 2);
      await session.addItems(again);
      expect(await session.getItems()).toEqual(again);
      expect(await ctx.store.session(ctx.idFor()).getItems()).toEqual(again);
    },
  },
  {
    group,
    name: 'sessions with different ids are isolated',
    async run(ctx) {
      const one = ctx.session('one');
      const two = ctx.session('two');
      await one.addItems(numbered('one', 2));
      await two.addItems(numbered('two', 3));
      await one.popItem();
      await two.clearSession();
      expect(await one.getItems()).toEqual(numbered('one', 1));
      expect(await two.getItems()).toEqual([]);
      await expectStored(ctx, 'one', 1);
    },
  },
  {
    group,
    name: 'two handles on one id see the same history',
    async run(ctx) {
      await ctx.session().addItems([message('from handle one')]);
      await ctx.store.session(ctx.idFor()).addItems([message('from handle two')]);
      expect(await ctx.session().getItems()).toEqual([message('from handle one'), message('from handle two')]);
    },
  },
  {
    group,
    name: 'addItems([]) writes nothing',
    async run(ctx) {
      const session = ctx.session();
      await session.addItems([]);
      expect(await session.getItems()).toEqual([]);
      await expectStored(ctx, undefined, 0);
    },
  },
  {
    group,
    name: 'returned items are fresh objects, and stored items do not alias the input',
    async run(ctx) {
      const session = ctx.session();
      const input = { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'original' }] };
      await session.addItems([input]);
      input.content[0]!.text = 'mutated input';
      const [read] = await session.getItems();
      expect(read.content[0].text).toBe('original');
      read.content[0].text = 'mutated output';
      read.extra = true;
      const [again] = await session.getItems(1);
      expect(again).toEqual({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'original' }] });
      expect(again).not.toBe(read);
    },
  },
  {
    group,
    name: 'properties whose value is undefined are dropped, as JSON does',
    async run(ctx) {
      const session = ctx.session();
      await session.addItems([{ type: 'message', role: 'user', content: 'hi', id: undefined }]);
      const [read] = await session.getItems();
      expect(read).toEqual({ type: 'message', role: 'user', content: 'hi' });
      expect(Object.hasOwn(read, 'id')).toBe(false);
    },
  },
];
