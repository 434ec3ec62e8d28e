import { expect } from 'vitest';
import { SessionConflictError, SessionSerializationError, SessionValidationError } from '../../errors/index.js';
import type { HistoryTransactionCapable, Session } from '../../protocol/session.js';
import type { ContractCase, ContractContext } from '../types.js';
import { expectStored, message, numbered, rejection } from './helpers.js';

const group = 'history transactions';
type TxSession = Session & HistoryTransactionCapable;
const txSession = (ctx: ContractContext, suffix?: string) => ctx.session(suffix) as TxSession;

export const transactionCases: ContractCase[] = [
  {
    group,
    name: 'append_items applied twice with one operationId changes history once',
    when: (c) => c.transactions,
    async run(ctx) {
      const session = txSession(ctx);
      const items = numbered('t', 3);
      const args = { operationId: 'op-append', transaction: { type: 'append_items' as const, items } };
      await session.applyHistoryTransaction(args);
      await session.applyHistoryTransaction(args);
      await txSession(ctx).applyHistoryTransaction(structuredClone(args));
      expect(await session.getItems()).toEqual(items);
      await expectStored(ctx, undefined, 3);
    },
  },
  {
    group,
    name: 'replace_suffix swaps exactly the expected suffix, and is idempotent',
    when: (c) => c.transactions,
    async run(ctx) {
      const session = txSession(ctx);
      const [a, b, c] = numbered('r', 3);
      await session.addItems([a, b, c]);
      const args = {
        operationId: 'op-replace',
        transaction: {
          type: 'replace_suffix' as const,
          expectedSuffix: [b, c],
          replacement: [message('x'), message('y'), message('z')],
        },
      };
      await session.applyHistoryTransaction(args);
      await session.applyHistoryTransaction(args);
      expect(await session.getItems()).toEqual([a, message('x'), message('y'), message('z')]);
      // An empty expected suffix appends; an empty replacement deletes the suffix.
      await session.applyHistoryTransaction({
        operationId: 'op-delete',
        transaction: { type: 'replace_suffix', expectedSuffix: [message('y'), message('z')], replacement: [] },
      });
      await session.applyHistoryTransaction({
        operationId: 'op-append-2',
        transaction: { type: 'replace_suffix', expectedSuffix: [], replacement: [message('w')] },
      });
      expect(await session.getItems()).toEqual([a, message('x'), message('w')]);
      await expectStored(ctx, undefined, 3);
    },
  },
  {
    group,
    name: 'expectedSuffix is compared by deep equality, not key order',
    when: (c) => c.transactions,
    async run(ctx) {
      const session = txSession(ctx);
      await session.addItems([{ type: 'message', role: 'user', content: 'hi', providerData: { a: 1, b: 2 } }]);
      await session.applyHistoryTransaction({
        operationId: 'op-order',
        transaction: {
          type: 'replace_suffix',
          expectedSuffix: [{ providerData: { b: 2, a: 1 }, content: 'hi', role: 'user', type: 'message' }],
          replacement: [message('replaced')],
        },
      });
      expect(await session.getItems()).toEqual([message('replaced')]);
    },
  },
  {
    group,
    name: 'the same operationId with a different transaction fails and changes nothing',
    when: (c) => c.transactions,
    async run(ctx) {
      const session = txSession(ctx);
      await session.applyHistoryTransaction({
        operationId: 'op-1',
        transaction: { type: 'append_items', items: [message('a')] },
      });
      const error = await rejection(
        session.applyHistoryTransaction({
          operationId: 'op-1',
          transaction: { type: 'append_items', items: [message('b')] },
        }),
        SessionConflictError,
      );
      expect(error.reason).toBe('operation_id_reused');
      expect(await session.getItems()).toEqual([message('a')]);
    },
  },
  {
    group,
    name: 'a stale expectedSuffix fails with suffix_mismatch and changes nothing, not even the operation id',
    when: (c) => c.transactions,
    async run(ctx) {
      const session = txSession(ctx);
      const items = numbered('s', 3);
      await session.addItems(items);
      for (const expectedSuffix of [
        [items[0]],
        [message('never stored')],
        [...items, ...items],
        [items[1], items[1]],
      ]) {
        const error = await rejection(
          session.applyHistoryTransaction({
            operationId: 'op-stale',
            transaction: { type: 'replace_suffix', expectedSuffix, replacement: [message('no')] },
          }),
          SessionConflictError,
        );
        expect(error.reason).toBe('suffix_mismatch');
      }
      expect(await session.getItems()).toEqual(items);
      await expectStored(ctx, undefined, 3);
      // The failed attempts did not burn the id.
      await session.applyHistoryTransaction({
        operationId: 'op-stale',
        transaction: { type: 'replace_suffix', expectedSuffix: [items[2]], replacement: [message('yes')] },
      });
      expect(await session.getItems()).toEqual([items[0], items[1], message('yes')]);
    },
  },
  {
    group,
    name: 'of concurrent replace_suffix with the same expectation exactly one wins',
    when: (c) => c.transactions,
    async run(ctx) {
      const items = numbered('c', 4);
      await ctx.session().addItems(items);
      const contenders = 8;
      const results = await Promise.allSettled(
        Array.from({ length: contenders }, (_, k) =>
          txSession(ctx).applyHistoryTransaction({
            operationId: `op-race-${k}`,
            transaction: {
              type: 'replace_suffix',
              expectedSuffix: items.slice(2),
              replacement: [message(`winner-${k}`)],
            },
          }),
        ),
      );
      const winners = results.flatMap((r, k) => (r.status === 'fulfilled' ? [k] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SessionConflictError);
      }
      expect(await ctx.session().getItems()).toEqual([...items.slice(0, 2), message(`winner-${winners[0]}`)]);
    },
  },
  {
    group,
    name: 'bad transactions are refused before anything is written',
    when: (c) => c.transactions,
    async run(ctx) {
      const session = txSession(ctx);
      await session.addItems([message('base')]);
      await rejection(
        session.applyHistoryTransaction({
          operationId: 'op-bad',
          transaction: { type: 'append_items', items: [message('ok'), { n: 1n }] },
        }),
        SessionSerializationError,
      );
      await rejection(
        session.applyHistoryTransaction({ operationId: '', transaction: { type: 'append_items', items: [] } }),
        SessionValidationError,
      );
      await rejection(
        session.applyHistoryTransaction({ operationId: 'op-x', transaction: { type: 'nope' } as never }),
        SessionValidationError,
      );
      expect(await session.getItems()).toEqual([message('base')]);
      // The refused id is still free.
      await session.applyHistoryTransaction({
        operationId: 'op-bad',
        transaction: { type: 'append_items', items: [message('ok')] },
      });
      expect(await session.getItems()).toEqual([message('base'), message('ok')]);
    },
  },
  {
    group,
    name: "the SDK's argument rules: blank ids, unknown fields and throwing getters are refused before I/O",
    when: (c) => c.transactions,
    async run(ctx) {
      const session = txSession(ctx);
      await session.addItems([message('base')]);
      const append = { type: 'append_items' as const, items: [message('x')] };
      const bad: unknown[] = [
        { operationId: '   ', transaction: append },
        { operationId: '\t\n', transaction: append },
        { operationId: 'op-extra', transaction: append, note: 'unknown envelope field' },
        { operationId: 'op-extra-2', transaction: { ...append, dryRun: true } },
        {
          operationId: 'op-getter',
          get transaction(): never {
            throw new Error('S3CRET from a getter');
          },
        },
      ];
      for (const args of bad) {
        const error = await rejection(session.applyHistoryTransaction(args as never), SessionValidationError);
        expect(error.message).not.toContain('S3CRET');
      }
      expect(await session.getItems()).toEqual([message('base')]);
      await expectStored(ctx, undefined, 1);
    },
  },
  {
    group,
    name: 'clearSession forgets operation ids: the same id applies again afterwards',
    when: (c) => c.transactions,
    async run(ctx) {
      const session = txSession(ctx);
      const args = {
        operationId: 'op-clear',
        transaction: { type: 'append_items' as const, items: [message('first life')] },
      };
      await session.applyHistoryTransaction(args);
      await session.clearSession();
      await session.applyHistoryTransaction(args);
      expect(await session.getItems()).toEqual([message('first life')]);
      await expectStored(ctx, undefined, 1);
    },
  },
  {
    group,
    name: 'a backend without transactions does not pretend to have them',
    when: (c) => !c.transactions,
    async run(ctx) {
      expect((ctx.session() as Partial<TxSession>).applyHistoryTransaction).toBeUndefined();
    },
  },
];
