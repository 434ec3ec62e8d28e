/**
 * What the page needs from a whole history and cannot work out from one page of it: where each
 * turn starts, which call each output answers (by `callId`), and token usage when items carry it.
 * Turns are read from the items themselves: a turn starts at each `role: 'user'` message.
 */
import type { ItemEntry, TurnView, UsageView } from './shared/api.js';

/** Call item types and the output types that answer them (SDK camelCase and Responses API forms). */
const OUTPUT_OF_CALL: Record<string, readonly string[]> = {
  function_call: ['function_call_result', 'function_call_output'],
  computer_call: ['computer_call_result', 'computer_call_output'],
  shell_call: ['shell_call_output'],
  apply_patch_call: ['apply_patch_call_output'],
  program: ['program_output'],
  tool_search_call: ['tool_search_output'],
  custom_tool_call: ['custom_tool_call_output'],
};
const CALL_TYPES = new Set(Object.keys(OUTPUT_OF_CALL));
const OUTPUT_TYPES = new Map(
  Object.entries(OUTPUT_OF_CALL).flatMap(([call, outputs]) => outputs.map((o) => [o, call])),
);

export interface Analysis {
  turns: TurnView[];
  /** Turn number of each item. */
  turnOf: Uint32Array;
  /** Index of the paired item, or -1. */
  pairOf: Int32Array;
}

type Loose = Record<string, unknown>;

function asObject(value: unknown): Loose | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : undefined;
}

export function isUserMessage(item: unknown): boolean {
  const object = asObject(item);
  return object?.role === 'user' && (object.type === undefined || object.type === 'message');
}

function callIdOf(item: Loose): string | undefined {
  const id = item.callId ?? item.call_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

export function analyse(items: readonly unknown[]): Analysis {
  const turnOf = new Uint32Array(items.length);
  const pairOf = new Int32Array(items.length).fill(-1);
  const turns: TurnView[] = [];
  let turn = 0;
  // Calls waiting for their output, by call type and id (ids are unique per type in practice).
  const openCalls = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    if (isUserMessage(item)) {
      turn++;
      const previous = turns.at(-1);
      if (previous) previous.end = index;
      turns.push({ turn, start: index, end: items.length });
    } else if (index === 0) {
      turns.push({ turn: 0, start: 0, end: items.length });
    }
    turnOf[index] = turn;
    const object = asObject(item);
    const type = typeof object?.type === 'string' ? object.type : undefined;
    const callId = object && callIdOf(object);
    if (!type || !callId) continue;
    if (CALL_TYPES.has(type)) {
      openCalls.set(`${type}\u0000${callId}`, index);
    } else if (OUTPUT_TYPES.has(type)) {
      const key = `${OUTPUT_TYPES.get(type)}\u0000${callId}`;
      const call = openCalls.get(key);
      if (call !== undefined) {
        pairOf[call] = index;
        pairOf[index] = call;
        openCalls.delete(key);
      }
    }
  }
  for (const view of turns) {
    const usage = sumUsage(items.slice(view.start, view.end));
    if (usage) view.usage = usage;
  }
  return { turns, turnOf, pairOf };
}

/** Token usage on an item (`usage` or `providerData.usage`, camelCase or snake_case), summed per turn. */
function sumUsage(items: readonly unknown[]): UsageView | undefined {
  let found = false;
  const total: UsageView = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
  for (const item of items) {
    const object = asObject(item);
    const usage = asObject(object?.usage) ?? asObject(asObject(object?.providerData)?.usage);
    if (!usage) continue;
    const input = number(usage.inputTokens ?? usage.input_tokens);
    const output = number(usage.outputTokens ?? usage.output_tokens);
    const sum = number(usage.totalTokens ?? usage.total_tokens);
    if (input === undefined && output === undefined && sum === undefined) continue;
    found = true;
    total.inputTokens += input ?? 0;
    total.outputTokens += output ?? 0;
    total.totalTokens += sum ?? (input ?? 0) + (output ?? 0);
  }
  return found ? total : undefined;
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Items `[start, end)` with their turn and pairing; a call carries its output item along. */
export function entries(items: readonly unknown[], analysis: Analysis, start: number, end: number): ItemEntry[] {
  const result: ItemEntry[] = [];
  for (let index = start; index < end; index++) {
    const turn = analysis.turnOf[index]!;
    const entry: ItemEntry = {
      index,
      turn,
      turnStart: index === 0 || analysis.turnOf[index - 1] !== turn,
      item: items[index],
    };
    const pair = analysis.pairOf[index]!;
    if (pair >= 0) {
      entry.pair = pair > index ? { role: 'call', index: pair, item: items[pair] } : { role: 'output', index: pair };
    }
    result.push(entry);
  }
  return result;
}

/** The index after the last item of turn `turn` (turn 0, the preamble, is always kept). */
export function endOfTurn(analysis: Analysis, turn: number, total: number): number {
  const next = analysis.turns.find((view) => view.turn === turn + 1);
  return next ? next.start : total;
}
