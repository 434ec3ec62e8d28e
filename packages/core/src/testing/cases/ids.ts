import { expect } from 'vitest';
import { MAX_SESSION_ID_BYTES } from '../../encoding/arguments.js';
import { SessionValidationError } from '../../errors/index.js';
import type { ContractCase } from '../types.js';
import { message, thrown } from './helpers.js';

const group = 'session ids';

/** Ids chosen to collide under naive key building, escaping, hash tags or normalisation. */
const trickyIds = [
  'a',
  'a:b',
  'a:',
  ':a',
  'a::b',
  'ab',
  'a b',
  'a/b',
  'a\\b',
  'a.b',
  'a*',
  'a?',
  'a%',
  'a%3Ab',
  '{a}',
  'a}',
  '{a',
  '{}',
  'a{b}c',
  'a\nb',
  'a\tb',
  '..',
  '$a',
  'a$',
  '\u00e9',
  'e\u0301',
  '\u0130',
  'i\u0307',
  '\u{1F600}',
  '\u{1F469}\u200d\u{1F469}\u200d\u{1F467}',
  'a\u200bb',
  'A',
  '__proto__',
  'constructor',
  '*',
  '#',
  "a'b",
  'a"b',
  'a;drop table x',
  '%s',
  '\\u0000',
  '[a]',
];

export const idCases: ContractCase[] = [
  {
    group,
    name: 'ids that could collide or escape a prefix stay isolated',
    async run(ctx) {
      const ids = [...trickyIds, 'x'.repeat(200), `${'x'.repeat(200)}y`];
      expect(new Set(ids).size, 'the ids are pairwise distinct').toBe(ids.length);
      const sessions = ids.map((id) => ctx.session(id));
      await Promise.all(sessions.map((s, i) => s.addItems([message(`for ${ids[i]}`, { owner: i })])));
      for (const [i, session] of sessions.entries()) {
        expect(await session.getItems(), `id ${JSON.stringify(ids[i])}`).toEqual([
          message(`for ${ids[i]}`, { owner: i }),
        ]);
      }
      await sessions[0]!.clearSession();
      await sessions[1]!.popItem();
      expect(await sessions[0]!.getItems()).toEqual([]);
      expect(await sessions[1]!.getItems()).toEqual([]);
      expect(await sessions[2]!.getItems()).toHaveLength(1);
      expect(await sessions[5]!.getItems()).toHaveLength(1);
    },
  },
  {
    group,
    name: 'ids of the maximum length (ASCII and astral) work and stay distinct',
    async run(ctx) {
      const prefixBytes = new TextEncoder().encode(ctx.idFor('')).length;
      const room = MAX_SESSION_ID_BYTES - prefixBytes;
      const ascii = 'z'.repeat(room);
      const asciiOther = `${'z'.repeat(room - 1)}y`;
      const astral = '😀'.repeat(Math.floor(room / 4));
      for (const suffix of [ascii, asciiOther, astral]) {
        await ctx.session(suffix).addItems([message(suffix.slice(-4))]);
      }
      expect(await ctx.session(ascii).getItems()).toEqual([message(ascii.slice(-4))]);
      expect(await ctx.session(asciiOther).getItems()).toEqual([message(asciiOther.slice(-4))]);
      expect(await ctx.session(astral).getItems()).toEqual([message(astral.slice(-4))]);
    },
  },
  {
    group,
    name: 'invalid ids are refused with SessionValidationError',
    async run(ctx) {
      const tooLong = 'x'.repeat(MAX_SESSION_ID_BYTES + 1);
      const bad: unknown[] = ['', '\ud800', 'a\udc00b', 'nul\u0000byte', tooLong, 42, null, undefined, {}];
      for (const id of bad) {
        thrown(() => ctx.store.session(id as string), SessionValidationError);
      }
    },
  },
];
