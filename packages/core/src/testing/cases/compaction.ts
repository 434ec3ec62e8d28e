import { expect } from 'vitest';
import { SessionSerializationError } from '../../errors/index.js';
import type { CompactionCapable, HistoryMutationCapable, Session } from '../../protocol/session.js';
import type { ContractCase } from '../types.js';
import { expectStored, message, numbered, rejection, sleep } from './helpers.js';

const group = 'compaction and mutations';
type CompactingSession = Session & CompactionCapable;

export const compactionCases: ContractCase[] = [
  {
    group,
    name: 'replaceHistoryWithCompaction swaps the whole history',
    when: (c) => c.compaction,
    async run(ctx) {
      const session = ctx.session() as CompactingSession;
      await session.addItems(numbered('old', 12));
      const compacted = [{ type: 'compaction', summary: 'earlier turns' }, ...numbered('kept', 2)];
      await session.replaceHistoryWithCompaction(compacted);
      expect(await session.getItems()).toEqual(compacted);
      await expectStored(ctx, undefined, 3);
      await session.addItems([message('next')]);
      expect(await session.getItems(2)).toEqual([compacted[2], message('next')]);
      await session.replaceHistoryWithCompaction([]);
      expect(await session.getItems()).toEqual([]);
    },
  },
  {
    group,
    name: 'readers never see half a compaction, and a bad replacement changes nothing',
    when: (c) => c.compaction,
    async run(ctx) {
      const session = ctx.session() as CompactingSession;
      const before = numbered('before', 30);
      const after = numbered('after', 5);
      await session.addItems(before);
      const reader = ctx.store.session(ctx.idFor());
      const contents = (items: { content: string }[]) => items.map((item) => item.content).join(',');
      // Read continuously while the swap is in flight: every read sees all of one side.
      let done = false;
      const replacing = session.replaceHistoryWithCompaction(after).finally(() => {
        done = true;
      });
      const seen: string[] = [];
      for (let i = 0; i < 2000 && (!done || seen.length === 0); i++) {
        seen.push(contents(await reader.getItems()));
        await sleep(0);
      }
      await replacing;
      seen.push(contents(await reader.getItems()));
      for (const state of seen) expect([contents(before), contents(after)]).toContain(state);
      expect(seen.at(-1)).toBe(contents(after));
      await rejection(
        session.replaceHistoryWithCompaction([message('ok'), { bad: () => 1 }]),
        SessionSerializationError,
      );
      expect(await session.getItems()).toEqual(after);
    },
  },
  {
    group,
    name: 'applyHistoryMutations replaces a function call in place',
    when: (c) => c.historyMutations,
    async run(ctx) {
      const session = ctx.session() as Session & HistoryMutationCapable;
      const call = {
        type: 'function_call',
        callId: 'call_9',
        name: 'lookup',
        arguments: '{"q":"a"}',
        status: 'completed',
      };
      const result = {
        type: 'function_call_result',
        callId: 'call_9',
        name: 'lookup',
        status: 'completed',
        output: 'done',
      };
      await session.addItems([message('q'), call, result, message('after')]);
      const replacement = { ...call, arguments: '{"q":"redacted"}' };
      await session.applyHistoryMutations({
        mutations: [{ type: 'replace_function_call', callId: 'call_9', replacement }],
      });
      expect(await session.getItems()).toEqual([message('q'), replacement, result, message('after')]);
      await session.applyHistoryMutations({
        mutations: [{ type: 'replace_function_call', callId: 'absent', replacement }],
      });
      expect(await session.getItems()).toHaveLength(4);
    },
  },
  {
    group,
    name: 'applyHistoryMutations keeps one replacement when a call id is stored twice, as the SDK does',
    when: (c) => c.historyMutations,
    async run(ctx) {
      const session = ctx.session() as Session & HistoryMutationCapable;
      const call = { type: 'function_call', callId: 'dup', name: 'f', arguments: '{}', status: 'completed' };
      const other = { ...call, callId: 'other' };
      await session.addItems([message('q'), call, other, call, message('after')]);
      const replacement = { ...call, arguments: '{"fixed":true}' };
      await session.applyHistoryMutations({
        mutations: [{ type: 'replace_function_call', callId: 'dup', replacement }],
      });
      expect(await session.getItems()).toEqual([message('q'), replacement, other, message('after')]);
      await expectStored(ctx, undefined, 4);
    },
  },
  {
    group,
    name: 'a backend without history mutations does not pretend to have them',
    when: (c) => !c.historyMutations,
    async run(ctx) {
      expect((ctx.session() as Partial<Session & HistoryMutationCapable>).applyHistoryMutations).toBeUndefined();
    },
  },
  {
    group,
    name: 'a backend without compaction does not pretend to have it',
    when: (c) => !c.compaction,
    async run(ctx) {
      expect((ctx.session() as Partial<CompactingSession>).replaceHistoryWithCompaction).toBeUndefined();
    },
  },
];
