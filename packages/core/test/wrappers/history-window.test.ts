import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemorySession, SessionValidationError } from '../../src/index.js';
import type { AgentInputItem, Session } from '../../src/protocol/session.js';
import fixtures from '../../src/testing/fixtures/agent-input-items.json' with { type: 'json' };
import { withEncryption } from '../../src/wrappers/encryption/index.js';
import { type HistoryWindowOptions, historyWindow, withHistoryWindow } from '../../src/wrappers/history-window.js';

const f = fixtures as Record<string, AgentInputItem>;
const user = (text: string) => ({ type: 'message', role: 'user', content: text });
const assistant = (text: string) => ({
  type: 'message',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text }],
});
const reasoning = (id: string) => ({ type: 'reasoning', id, content: [] });
const call = (callId: string) => ({ type: 'function_call', callId, name: 'f', arguments: '{}', status: 'completed' });
const result = (callId: string) => ({
  type: 'function_call_result',
  callId,
  name: 'f',
  status: 'completed',
  output: { type: 'text', text: callId },
});

/** A session that records the limits it was read with. */
function counting(items: AgentInputItem[]) {
  const inner = new InMemorySession({ sessionId: 'w' });
  const limits: (number | undefined)[] = [];
  const session: Session = {
    getSessionId: () => inner.getSessionId(),
    getItems: (limit?: number) => {
      limits.push(limit);
      return inner.getItems(limit);
    },
    addItems: (batch) => inner.addItems(batch),
    popItem: () => inner.popItem(),
    clearSession: () => inner.clearSession(),
  };
  return { ready: inner.addItems(items), session, limits };
}

describe('historyWindow: where it cuts', () => {
  const turn1 = [user('q1'), reasoning('rs1'), call('c1'), result('c1'), assistant('a1')];
  const turn2 = [user('q2'), call('c2'), call('c3'), result('c3'), result('c2'), assistant('a2')];
  const history = [...turn1, ...turn2];

  it('never starts with a tool output whose call was cut off', () => {
    // maxItems 7 would start at result('c1') (index 3).
    expect(historyWindow(history, { maxItems: 7 })).toEqual(history.slice(4));
    // Parallel calls: a cut between c3 and its output moves past every open output.
    expect(historyWindow(history, { maxItems: 3 })).toEqual([assistant('a2')]);
    expect(historyWindow(history, { maxItems: 5 })).toEqual(history.slice(6));
  });

  it('never separates a reasoning item from the item after it', () => {
    // maxItems 9 would start at call('c1'), right after the reasoning item: move past the group.
    expect(historyWindow(history, { maxItems: 9 })).toEqual(history.slice(4));
    expect(historyWindow(history, { maxItems: 10 })).toEqual(history.slice(1));
    expect(historyWindow(history, { maxItems: 11 })).toEqual(history);
  });

  it('counts user turns, including user messages without a type', () => {
    expect(historyWindow(history, { maxTurns: 1 })).toEqual(turn2);
    expect(historyWindow(history, { maxTurns: 2 })).toEqual(history);
    expect(historyWindow(history, { maxTurns: 5 })).toEqual(history);
    const typeless = [f.user_parts, assistant('x'), f.user_string, assistant('y')];
    expect(historyWindow(typeless, { maxTurns: 1 })).toEqual(typeless.slice(2));
    // Both bounds: the tighter one wins.
    expect(historyWindow(history, { maxTurns: 2, maxItems: 6 })).toEqual(turn2);
    expect(historyWindow(history, { maxTurns: 1, maxItems: 3 })).toEqual([assistant('a2')]);
  });

  it('pairs every kind of tool call with its output', () => {
    const pairs: [string, string][] = [
      ['computer_call', 'computer_call_result'],
      ['shell_call', 'shell_call_output'],
      ['apply_patch_call', 'apply_patch_call_output'],
      ['tool_search_call', 'tool_search_output'],
      ['program', 'program_output'],
      ['function_call', 'function_call_result'],
    ];
    for (const [callName, outputName] of pairs) {
      const items = [user('go'), f[callName], f[outputName], assistant('done')];
      expect(historyWindow(items, { maxItems: 2 }), outputName).toEqual([assistant('done')]);
      expect(historyWindow(items, { maxItems: 3 }), outputName).toEqual(items.slice(1));
    }
    const request = {
      type: 'hosted_tool_call',
      name: 'mcp_approval_request',
      id: 'mcpr_1',
      providerData: { type: 'mcp_approval_request', id: 'mcpr_1' },
    };
    const response = {
      type: 'hosted_tool_call',
      name: 'mcp_approval_response',
      providerData: { approval_request_id: 'mcpr_1', approve: true },
    };
    const mcp = [user('go'), request, response, assistant('done')];
    expect(historyWindow(mcp, { maxItems: 2 })).toEqual([assistant('done')]);
    // Hosted tool calls that carry their own result stand alone; server tool searches too.
    const hosted = [user('go'), f.hosted_tool_call, assistant('done')];
    expect(historyWindow(hosted, { maxItems: 2 })).toEqual(hosted.slice(1));
    const serverSearch = { ...f.tool_search_output, execution: 'server' };
    expect(historyWindow([user('go'), serverSearch], { maxItems: 1 })).toEqual([serverSearch]);
    // A client tool search output without any id answers the nearest open tool search call.
    const anonymousCall = { type: 'tool_search_call', execution: 'client', arguments: {} };
    const anonymousOutput = { type: 'tool_search_output', execution: 'client', tools: [] };
    const anonymous = [user('go'), anonymousCall, anonymousOutput];
    expect(historyWindow(anonymous, { maxItems: 2 })).toEqual(anonymous.slice(1));
    expect(historyWindow(anonymous, { maxItems: 1 })).toEqual([]);
    const withId = [user('go'), f.tool_search_call, anonymousOutput];
    expect(historyWindow(withId, { maxItems: 2 })).toEqual(withId.slice(1));
  });

  it('leaves out an orphaned output (its call is nowhere) by starting after it', () => {
    const items = [user('a'), assistant('b'), f.function_call_result_str, user('c'), assistant('d')];
    expect(historyWindow(items, { maxItems: 10 })).toEqual(items.slice(3));
  });

  it('is empty when the newest maxItems items are one tool batch larger than maxItems', () => {
    const batch = [user('go'), call('a'), call('b'), call('c'), result('a'), result('b'), result('c')];
    expect(historyWindow(batch, { maxItems: 5 })).toEqual([]);
    expect(historyWindow(batch, { maxItems: 6 })).toEqual(batch.slice(1));
    // A call still waiting for its output does not block a cut.
    expect(historyWindow([user('go'), assistant('x'), call('z')], { maxItems: 1 })).toEqual([call('z')]);
  });

  it('refuses bad options', () => {
    for (const options of [{}, { maxItems: 0 }, { maxTurns: -1 }, { maxItems: 1.5 }, { maxItems: '3' }, null]) {
      expect(() => historyWindow([], options as HistoryWindowOptions)).toThrow(SessionValidationError);
      expect(() => withHistoryWindow(new InMemorySession({ sessionId: 'x' }), options as HistoryWindowOptions)).toThrow(
        SessionValidationError,
      );
    }
  });
});

describe('withHistoryWindow: the wrapper', () => {
  it('reads maxItems + 1 items once, however long the history', async () => {
    const items = Array.from({ length: 500 }, (_, i) => (i % 5 === 0 ? user(`u${i}`) : assistant(`a${i}`)));
    const { ready, session, limits } = counting(items);
    await ready;
    expect(await withHistoryWindow(session, { maxItems: 20 }).getItems()).toEqual(items.slice(-20));
    expect(limits).toEqual([21]);
  });

  it('with maxTurns only, doubles its reads until it has seen enough turns', async () => {
    // Turns of 30 items: the first read (8 per turn) is too short.
    const items = Array.from({ length: 300 }, (_, i) => (i % 30 === 0 ? user(`u${i}`) : assistant(`a${i}`)));
    const { ready, session, limits } = counting(items);
    await ready;
    expect(await withHistoryWindow(session, { maxTurns: 2 }).getItems()).toEqual(items.slice(-60));
    expect(limits).toEqual([16, 32, 64]);
  });

  it('passes limited reads, writes and capabilities through unchanged', async () => {
    const inner = new InMemorySession({ sessionId: 'p' });
    const session = withHistoryWindow(inner, { maxItems: 2 });
    await session.addItems([user('1'), assistant('2'), user('3')]);
    expect(await session.getItems()).toEqual([assistant('2'), user('3')]);
    expect(await session.getItems(3)).toEqual([user('1'), assistant('2'), user('3')]);
    await session.applyHistoryTransaction({
      operationId: 'op',
      transaction: { type: 'append_items', items: [assistant('4')] },
    });
    await session.replaceHistoryWithCompaction([{ type: 'compaction', summary: 's' }, user('5'), assistant('6')]);
    expect(await session.popItem()).toEqual(assistant('6'));
    expect(await inner.getItems()).toEqual([{ type: 'compaction', summary: 's' }, user('5')]);
    expect(session.inner).toBe(inner);
    const plain = withHistoryWindow(
      {
        getSessionId: async () => 'x',
        getItems: async () => [],
        addItems: async () => {},
        popItem: async () => undefined,
        clearSession: async () => {},
      },
      { maxTurns: 1 },
    );
    expect('applyHistoryTransaction' in plain).toBe(false);
    expect('replaceHistoryWithCompaction' in plain).toBe(false);
  });

  it('composes with encryption (window over decrypted items)', async () => {
    const inner = new InMemorySession({ sessionId: 'enc' });
    const session = withHistoryWindow(withEncryption(inner, { keys: [{ id: 'k', key: new Uint8Array(32) }] }), {
      maxItems: 3,
    });
    const items = [user('q'), reasoning('r'), call('c'), result('c'), assistant('a')];
    await session.addItems(items);
    expect(await session.getItems()).toEqual([assistant('a')]);
    expect(await session.getItems(3)).toEqual(items.slice(2));
  });
});

// ---- Property: the window is exactly the first valid cut at or after the target ----------------

type Step =
  | { kind: 'assistant' }
  | { kind: 'hosted' }
  | { kind: 'compaction' }
  | { kind: 'orphan' }
  | { kind: 'batch'; tools: number[]; order: number[]; reasoning: boolean; unanswered: boolean }
  | { kind: 'reasoning-answer' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'assistant' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hosted' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compaction' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'orphan' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'reasoning-answer' as const }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('batch' as const),
      tools: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 }),
      order: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
      reasoning: fc.boolean(),
      unanswered: fc.boolean(),
    }),
  },
);
const turn = fc.record({ typeless: fc.boolean(), steps: fc.array(step, { maxLength: 5 }) });

/** Builds a history and, independently of the code under test, which output answers which call. */
function build(turns: { typeless: boolean; steps: Step[] }[]) {
  const items: AgentInputItem[] = [];
  const callOf: number[] = []; // for outputs: index of their call, -1 for orphans; -2 for others
  const isUser: boolean[] = [];
  let seq = 0;
  const push = (item: AgentInputItem, answers = -2, userTurn = false) => {
    items.push({ ...item, seq: seq++ });
    callOf.push(answers);
    isUser.push(userTurn);
  };
  const tool = (kind: number, id: string): [AgentInputItem, AgentInputItem] => {
    switch (kind) {
      case 0:
        return [call(id), result(id)];
      case 1:
        return [
          { ...f.computer_call, callId: id },
          { ...f.computer_call_result, callId: id },
        ];
      case 2:
        return [
          { ...f.shell_call, callId: id },
          { ...f.shell_call_output, callId: id },
        ];
      case 3:
        return [
          { ...f.apply_patch_call, callId: id },
          { ...f.apply_patch_call_output, callId: id },
        ];
      case 4:
        return [
          { ...f.tool_search_call, call_id: id },
          { ...f.tool_search_output, call_id: id },
        ];
      case 5:
        return [
          { ...f.program, callId: id },
          { ...f.program_output, callId: id },
        ];
      default:
        return [
          {
            type: 'hosted_tool_call',
            name: 'mcp_approval_request',
            id,
            providerData: { type: 'mcp_approval_request', id },
          },
          { type: 'hosted_tool_call', name: 'mcp_approval_response', providerData: { approval_request_id: id } },
        ];
    }
  };
  for (const t of turns) {
    push(t.typeless ? { role: 'user', content: 'hi' } : user('hi'), -2, true);
    for (const s of t.steps) {
      if (s.kind === 'assistant') push(assistant('a'));
      else if (s.kind === 'hosted') push(f.hosted_tool_call);
      else if (s.kind === 'compaction') push(f.compaction);
      else if (s.kind === 'orphan') push(result(`orphan-${seq}`), -1);
      else if (s.kind === 'reasoning-answer') {
        push(reasoning(`rs-${seq}`));
        push(assistant('after reasoning'));
      } else {
        if (s.reasoning) push(reasoning(`rs-${seq}`));
        const pairs = s.tools.map((kind, k) => ({ pair: tool(kind, `id-${seq}-${k}`), at: -1, key: s.order[k]! }));
        for (const p of pairs) {
          p.at = items.length;
          push(p.pair[0]);
        }
        if (!s.unanswered) {
          for (const p of [...pairs].sort((a, b) => a.key - b.key)) push(p.pair[1], p.at);
        }
      }
    }
  }
  return { items, callOf, isUser };
}

function expectedStart(
  { items, callOf, isUser }: ReturnType<typeof build>,
  { maxItems, maxTurns }: HistoryWindowOptions,
): number {
  const n = items.length;
  let target = maxItems === undefined ? 0 : Math.max(0, n - maxItems);
  if (maxTurns !== undefined) {
    const users = isUser.flatMap((u, i) => (u ? [i] : []));
    target = Math.max(target, users.length >= maxTurns ? users[users.length - maxTurns]! : 0);
  }
  const valid = (s: number) =>
    (s === 0 || items[s - 1].type !== 'reasoning') && callOf.every((c, p) => p < s || c === -2 || c >= s);
  for (let s = target; s < n; s++) if (valid(s)) return s;
  return n;
}

const bounds: fc.Arbitrary<HistoryWindowOptions> = fc.oneof<fc.Arbitrary<HistoryWindowOptions>[]>(
  fc.record({ maxItems: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ maxTurns: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ maxItems: fc.integer({ min: 1, max: 40 }), maxTurns: fc.integer({ min: 1, max: 6 }) }),
);

describe('withHistoryWindow: properties', () => {
  it('returns the first valid cut at or after the target, reading only what it needs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(turn, { maxLength: 8 }), bounds, async (turns, options) => {
        const history = build(turns);
        const { items } = history;
        const start = expectedStart(history, options);
        const expected = items.slice(start);
        expect(historyWindow(items, options)).toEqual(expected);

        const { ready, session, limits } = counting(items);
        await ready;
        const window = await withHistoryWindow(session, options).getItems();
        expect(window).toEqual(expected);
        // The bounds hold.
        if (options.maxItems !== undefined) expect(window.length).toBeLessThanOrEqual(options.maxItems);
        if (options.maxTurns !== undefined) {
          expect(window.filter((item) => item.role === 'user').length).toBeLessThanOrEqual(options.maxTurns);
        }
        // Reads: one of maxItems + 1 when maxItems is set; otherwise doubling, and never more
        // than twice what deciding needed (the turn start and the item before it).
        if (options.maxItems !== undefined) {
          expect(limits).toEqual([options.maxItems + 1]);
        } else {
          const users = history.isUser.flatMap((u, i) => (u ? [i] : []));
          const turnStart = users.length >= options.maxTurns! ? users[users.length - options.maxTurns!]! : 0;
          const needed = items.length - turnStart + 1;
          const largest = Math.max(...(limits as number[]));
          expect(largest).toBeLessThanOrEqual(Math.max(8 * options.maxTurns!, 2 * needed));
        }
      }),
      { numRuns: 300 },
    );
  });
});
