// The SDK's compaction path on every backend: `OpenAIResponsesCompactionSession` wrapping one of
// our sessions, with a scripted `responses.compact` (no network), replaces the stored history
// with the compacted output after a turn.
import { Agent, OpenAIResponsesCompactionSession, run, setTracingDisabled } from '@openai/agents';
import { assistantMessage, ScriptedModel } from '@openai/agents-core/testing';
import type { FullSession, SessionStore } from '@sessions/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './backends.js';

setTracingDisabled(true);

const compactionItem = { type: 'compaction', id: 'cmp_1', encrypted_content: 'summary of the earlier turns' };

/** The part of the OpenAI client the compaction session uses, answering from a script. */
function scriptedCompactionClient() {
  const requests: unknown[] = [];
  const client = {
    responses: {
      compact: async (request: unknown) => {
        requests.push(request);
        return { output: [compactionItem], usage: { input_tokens: 10, output_tokens: 2, total_tokens: 12 } };
      },
    },
  };
  return { client, requests };
}

for (const backend of backends) {
  describe(`SDK compaction on ${backend.name}`, () => {
    let store: SessionStore<FullSession>;
    beforeAll(async () => {
      store = await backend.open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('a compacted turn replaces the stored history with the compaction output', async () => {
      const underlying = store.session(`compaction-${Math.random().toString(36).slice(2, 8)}`);
      await underlying.addItems([
        { type: 'message', role: 'user', content: 'earlier question' },
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'earlier answer' }],
        },
      ]);
      const { client, requests } = scriptedCompactionClient();
      const session = new OpenAIResponsesCompactionSession({
        client: client as never,
        underlyingSession: underlying,
        model: 'gpt-5',
        compactionMode: 'input',
        shouldTriggerCompaction: () => true,
      });
      const agent = new Agent({ name: 'compacting', model: new ScriptedModel([[assistantMessage('latest answer')]]) });
      await run(agent, 'latest question', { session });
      expect(requests).toHaveLength(1);
      // The compaction request carried the whole stored conversation, in order.
      const input = (requests[0] as { input: { content: unknown }[] }).input;
      expect(JSON.stringify(input)).toMatch(/earlier question.*earlier answer.*latest question.*latest answer/s);
      expect(await underlying.getItems()).toEqual([compactionItem]);
      // The next turn reads the compacted history back through the wrapper.
      await underlying.addItems([{ type: 'message', role: 'user', content: 'after compaction' }]);
      expect((await session.getItems()).map((item) => item.type ?? item.role)).toEqual(['compaction', 'message']);
    });
  });
}
