import { expect } from 'vitest';
import { SessionSerializationError, SessionValidationError } from '../../errors/index.js';
import type { ContractCase } from '../types.js';
import { expectStored, message, rejection } from './helpers.js';

const group = 'bad input';

class Custom {
  value = 1;
}
const circular: Record<string, unknown> = { type: 'message', role: 'user', content: 'loop' };
circular.self = circular;
// biome-ignore lint/suspicious/noSparseArray: deliberately invalid input
const sparse = [1, , 3];

/** [label, bad item, expected path] — each must be refused before anything is written. */
const badItems: Array<[string, unknown, string]> = [
  ['BigInt', { type: 'message', n: 10n }, 'items[1].n'],
  ['function', { type: 'message', f: () => 1 }, 'items[1].f'],
  ['symbol value', { type: 'message', s: Symbol('x') }, 'items[1].s'],
  ['NaN', { type: 'message', content: [{ n: Number.NaN }] }, 'items[1].content[0].n'],
  ['Infinity', { type: 'message', n: Number.POSITIVE_INFINITY }, 'items[1].n'],
  ['-Infinity', { type: 'message', n: Number.NEGATIVE_INFINITY }, 'items[1].n'],
  ['circular reference', circular, 'items[1].self'],
  ['Date', { type: 'message', at: new Date(0) }, 'items[1].at'],
  ['Map', { type: 'message', m: new Map() }, 'items[1].m'],
  ['Set', { type: 'message', s: new Set([1]) }, 'items[1].s'],
  ['class instance', { type: 'message', c: new Custom() }, 'items[1].c'],
  ['typed array', { type: 'message', bytes: new Uint8Array(2) }, 'items[1].bytes'],
  ['undefined in an array', { type: 'message', list: [1, undefined] }, 'items[1].list[1]'],
  ['sparse array', { type: 'message', list: sparse }, 'items[1].list[1]'],
  ['item that is a string', 'hello', 'items[1]'],
  ['item that is null', null, 'items[1]'],
  ['item that is an array', [message('x')], 'items[1]'],
  ['item that is a class instance', new Custom(), 'items[1]'],
];

export const validationCases: ContractCase[] = [
  {
    group,
    name: 'non-JSON items are refused with SessionSerializationError naming the path; nothing is written',
    async run(ctx) {
      const session = ctx.session();
      const before = [message('kept')];
      await session.addItems(before);
      for (const [label, bad, path] of badItems) {
        const error = await rejection(
          session.addItems([message('valid first'), bad, message('valid last')]),
          SessionSerializationError,
        );
        expect(error.path, label).toBe(path);
        expect(error.code).toBe('SERIALIZATION');
      }
      expect(await session.getItems()).toEqual(before);
      await expectStored(ctx, undefined, 1);
    },
  },
  {
    group,
    name: 'addItems with something other than an array is refused',
    async run(ctx) {
      const session = ctx.session();
      for (const bad of [message('not in an array'), 'x', null, undefined]) {
        await rejection(session.addItems(bad as never), SessionValidationError);
      }
      expect(await session.getItems()).toEqual([]);
      await expectStored(ctx, undefined, 0);
    },
  },
  {
    group,
    name: 'a bad limit is refused with SessionValidationError',
    async run(ctx) {
      const session = ctx.session();
      await session.addItems([message('one')]);
      for (const limit of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5, '2', null, 2 ** 60]) {
        const error = await rejection(session.getItems(limit as number), SessionValidationError);
        expect(error.code).toBe('INVALID_ARGUMENT');
      }
      expect(await session.getItems()).toEqual([message('one')]);
    },
  },
];
