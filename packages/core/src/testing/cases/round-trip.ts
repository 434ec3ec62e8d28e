import fc from 'fast-check';
import { expect } from 'vitest';
import fixtures from '../fixtures/agent-input-items.json' with { type: 'json' };
import type { ContractCase } from '../types.js';

const group = 'round trip';
const fixtureEntries = Object.entries(fixtures as Record<string, Record<string, unknown>>);

const edgeNumbers = [
  0,
  1,
  -1,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
  1e21,
  1e-7,
  0.1 + 0.2,
  2 ** 53 + 2,
  123456789.12345679,
];
const edgeStrings = ['', '\u0000', 'a\u0000b', '😀', '𝄞𠀀', '\uFEFF', '\u2028\u2029', '"\\/', 'é', 'é', '\r\n\t'];

const jsonString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(...edgeStrings),
  fc.string({ unit: 'grapheme', minLength: 200, maxLength: 2000 }),
);
const jsonNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
  fc.integer(),
  fc.constantFrom(...edgeNumbers),
);
const { value: jsonValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 6 },
    fc.constant(null),
    fc.boolean(),
    jsonNumber,
    jsonString,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(jsonString, tie('value'), { maxKeys: 5 }),
  ),
}));
const jsonItem = fc.dictionary(jsonString, jsonValue, { minKeys: 1, maxKeys: 6 });

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 'bottom' };
  for (let i = 0; i < depth; i++) value = { level: i, child: i % 2 ? value : [value] };
  return value;
}

export const roundTripCases: ContractCase[] = [
  {
    group,
    name: 'every AgentInputItem fixture round-trips deep-equal, in one batch and one by one',
    async run(ctx) {
      const items = fixtureEntries.map(([, item]) => item);
      const batch = ctx.session('batch');
      await batch.addItems(items);
      expect(await batch.getItems()).toEqual(items);
      const single = ctx.session('single');
      for (const item of items) await single.addItems([item]);
      const read = await single.getItems();
      for (const [i, [name]] of fixtureEntries.entries()) {
        expect(read[i], `fixture ${name}`).toEqual(items[i]);
      }
      expect(await single.popItem()).toEqual(items.at(-1));
    },
  },
  {
    group,
    name: 'generated JSON (astral Unicode, NUL, edge numbers, nesting) round-trips',
    async run(ctx) {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(jsonItem, { minLength: 1, maxLength: 8 }), async (items) => {
          const session = ctx.session(`gen-${run++}`);
          await session.addItems(items);
          expect(await session.getItems()).toEqual(items);
          expect(await session.getItems(1)).toEqual(items.slice(-1));
        }),
        { numRuns: 40 },
      );
    },
  },
  {
    group,
    name: 'deeply nested and long items round-trip',
    async run(ctx) {
      const session = ctx.session();
      const deep = { type: 'message', role: 'user', content: 'deep', data: nested(300) };
      const long = { type: 'message', role: 'user', content: 'x'.repeat(100_000) + '😀'.repeat(10_000) };
      const wide = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]));
      await session.addItems([deep, long, wide]);
      expect(await session.getItems()).toEqual([deep, long, wide]);
    },
  },
];
