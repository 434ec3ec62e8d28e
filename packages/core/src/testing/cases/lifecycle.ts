import { expect } from 'vitest';
import { SessionClosedError } from '../../errors/index.js';
import type { FullSession } from '../../protocol/session.js';
import type { ContractCase } from '../types.js';
import { message, rejection, thrown } from './helpers.js';

const group = 'lifecycle';

export const lifecycleCases: ContractCase[] = [
  {
    group,
    name: 'after close() every operation fails with SessionClosedError; close is idempotent',
    async run(ctx) {
      const store = await ctx.openStore({});
      const session = store.session(ctx.idFor());
      await session.addItems([message('before close')]);
      await store.close();
      await store.close();
      thrown(() => store.session(ctx.idFor('other')), SessionClosedError);
      await rejection(session.getItems(), SessionClosedError);
      await rejection(session.addItems([message('after close')]), SessionClosedError);
      await rejection(session.popItem(), SessionClosedError);
      await rejection(session.clearSession(), SessionClosedError);
      await rejection(session.getSessionId(), SessionClosedError);
      // The optional capabilities refuse too, whichever the backend has.
      const full = session as Partial<FullSession>;
      if (full.applyHistoryTransaction) {
        await rejection(
          full.applyHistoryTransaction({
            operationId: 'after-close',
            transaction: { type: 'append_items', items: [message('x')] },
          }),
          SessionClosedError,
        );
      }
      if (full.replaceHistoryWithCompaction) {
        await rejection(full.replaceHistoryWithCompaction([message('after close')]), SessionClosedError);
      }
      if (full.applyHistoryMutations) {
        await rejection(
          full.applyHistoryMutations({
            mutations: [{ type: 'replace_function_call', callId: 'c', replacement: message('x') }],
          }),
          SessionClosedError,
        );
      }
      // Nothing was lost or written by the refused calls.
      expect(await ctx.session().getItems()).toEqual([message('before close')]);
    },
  },
  {
    group,
    name: 'await using closes the store',
    async run(ctx) {
      let escaped: { session(id: string): unknown } | undefined;
      {
        await using store = await ctx.openStore({});
        escaped = store;
        await store.session(ctx.idFor()).addItems([message('scoped')]);
      }
      thrown(() => escaped?.session(ctx.idFor()), SessionClosedError);
      expect(await ctx.session().getItems()).toEqual([message('scoped')]);
    },
  },
];
