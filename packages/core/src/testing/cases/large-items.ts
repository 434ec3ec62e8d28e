import { expect } from 'vitest';
import { SessionItemTooLargeError } from '../../errors/index.js';
import type { ContractCase } from '../types.js';
import { expectStored, message, rejection } from './helpers.js';

const group = 'large items';
const MiB = 1024 * 1024;

/** A computer-use screenshot sized item: `bytes` of base64-like text. */
function screenshot(bytes: number, seed: string) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let chunk = seed;
  for (let i = 0; chunk.length < 4096; i++) chunk += alphabet[(i * 31 + seed.length) % 64];
  const data = chunk.repeat(Math.ceil(bytes / chunk.length)).slice(0, bytes);
  return { type: 'computer_call_result', callId: `call_${seed}`, output: { type: 'computer_screenshot', data } };
}

export const largeItemCases: ContractCase[] = [
  {
    group,
    name: 'a 1 MiB item round-trips next to small ones',
    when: (c) => c.maxItemBytes === undefined || c.maxItemBytes >= 4 * MiB,
    async run(ctx) {
      const session = ctx.session();
      const big = screenshot(MiB, 'one');
      const bigger = screenshot(2 * MiB + 17, 'two');
      await session.addItems([message('before'), big, message('between')]);
      await session.addItems([bigger]);
      expect(await session.getItems()).toEqual([message('before'), big, message('between'), bigger]);
      expect(await session.getItems(2)).toEqual([message('between'), bigger]);
      expect(await session.popItem()).toEqual(bigger);
      expect(await session.popItem()).toEqual(message('between'));
      expect(await session.getItems(1)).toEqual([big]);
    },
  },
  {
    group,
    name: 'an item over the declared maximum is refused with SessionItemTooLargeError; nothing is written',
    when: (c) => c.maxItemBytes !== undefined,
    async run(ctx) {
      const max = ctx.capabilities.maxItemBytes as number;
      const session = ctx.session();
      const fits = screenshot(Math.floor(max * 0.9), 'fits');
      await session.addItems([fits]);
      const error = await rejection(
        session.addItems([message('first'), screenshot(max + 1, 'over')]),
        SessionItemTooLargeError,
      );
      expect(error.path).toBe('items[1]');
      expect(await session.getItems()).toEqual([fits]);
      await expectStored(ctx, undefined, 1);
    },
  },
];
