/**
 * The conversation items every benchmark writes: a realistic mix of the SDK's item shapes (user
 * message, assistant message, function call, function call result), about 300 bytes of JSON each.
 * Every item carries a tag (`[tag:…]`) in its text so that the concurrency check can find it again
 * in whatever shape a store hands it back.
 */
import type { AgentInputItem } from '@sessions/core';

const FILLER =
  'The quick brown fox jumps over the lazy dog while the assistant explains the weather in Paris, ' +
  'lists three restaurants near the Louvre and books a table for two at eight. ';

export function makeItem(index: number, tag = `i${index}`): AgentInputItem {
  const text = `[tag:${tag}] ${FILLER.slice(0, 160)}`;
  const callId = `call_${index >> 2}`;
  switch (index % 4) {
    case 0:
      return { type: 'message', role: 'user', content: text };
    case 1:
      return {
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text }],
      } as AgentInputItem;
    case 2:
      return {
        type: 'function_call',
        callId,
        name: 'lookup_restaurants',
        arguments: JSON.stringify({ city: 'Paris', near: 'Louvre', note: text }),
        status: 'completed',
      } as AgentInputItem;
    default:
      return {
        type: 'function_call_result',
        callId,
        name: 'lookup_restaurants',
        status: 'completed',
        output: { type: 'text', text },
      } as AgentInputItem;
  }
}

export function makeItems(count: number, start = 0, tagPrefix = 'i'): AgentInputItem[] {
  return Array.from({ length: count }, (_, k) => makeItem(start + k, `${tagPrefix}${start + k}`));
}

const TAG = /\[tag:([^\]\\"]+)\]/;

/** The tag of a returned item, whatever its shape (our items, LangChain messages, …). */
export function tagOf(returned: unknown): string | undefined {
  return TAG.exec(typeof returned === 'string' ? returned : JSON.stringify(returned))?.[1];
}

/** Average encoded size of an item, for the report. */
export function averageItemBytes(): number {
  const items = makeItems(40);
  return Math.round(items.reduce((n, item) => n + Buffer.byteLength(JSON.stringify(item)), 0) / items.length);
}
