// Real `run(agent, input, { session })` calls with a scripted model, on every backend:
// what the SDK stores and what it sends back to the model on the next turn.
import { Agent, run, setTracingDisabled, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents-core/testing';
import type { AgentInputItem, FullSession, SessionStore } from '@sessions/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backends } from './backends.js';

setTracingDisabled(true);

const text = (item: AgentInputItem) =>
  typeof item.content === 'string'
    ? item.content
    : (item.content ?? []).map((part: { text?: string }) => part.text ?? '').join('');

for (const backend of backends) {
  describe(`OpenAI Agents SDK on ${backend.name}`, () => {
    let store: SessionStore<FullSession>;
    beforeAll(async () => {
      store = await backend.open();
    });
    afterAll(async () => {
      await store?.close();
    });
    const sessionId = (label: string) => `sdk-${label}-${Math.random().toString(36).slice(2, 8)}`;

    it('a second turn sends the first turn back to the model, in order', async () => {
      const session = store.session(sessionId('turns'));
      const model = new ScriptedModel([[assistantMessage('Hello Ada.')], [assistantMessage('Your name is Ada.')]]);
      const agent = new Agent({ name: 'memory', instructions: 'Be brief.', model });
      await run(agent, 'My name is Ada.', { session });
      const second = await run(agent, 'What is my name?', { session });
      expect(second.finalOutput).toBe('Your name is Ada.');
      const sent = model.lastCall?.request.input as AgentInputItem[];
      expect(sent.map(text)).toEqual(['My name is Ada.', 'Hello Ada.', 'What is my name?']);
      const stored = await session.getItems();
      expect(stored.map(text)).toEqual(['My name is Ada.', 'Hello Ada.', 'What is my name?', 'Your name is Ada.']);
    });

    it('a tool call and its result are stored and read back', async () => {
      const session = store.session(sessionId('tool'));
      const weather = tool({
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: z.object({ city: z.string() }),
        execute: async ({ city }) => `sunny in ${city}`,
      });
      const model = new ScriptedModel([
        [functionCall('get_weather', { city: 'Paris' }, { callId: 'call_paris' })],
        [assistantMessage('It is sunny in Paris.')],
      ]);
      const agent = new Agent({ name: 'weather', model, tools: [weather] });
      await run(agent, 'Weather in Paris?', { session });
      const stored = await session.getItems();
      expect(stored.map((item) => item.type ?? item.role)).toEqual([
        'message',
        'function_call',
        'function_call_result',
        'message',
      ]);
      expect(stored[1]).toMatchObject({ type: 'function_call', callId: 'call_paris', name: 'get_weather' });
      expect(stored[2]).toMatchObject({ type: 'function_call_result', callId: 'call_paris' });
      expect(JSON.stringify(stored[2])).toContain('sunny in Paris');
    });

    it('a streamed run stores the turn', async () => {
      const session = store.session(sessionId('stream'));
      const model = new ScriptedModel([[assistantMessage('Streamed answer.')]]);
      const agent = new Agent({ name: 'stream', model });
      const result = await run(agent, 'Stream please', { session, stream: true });
      for await (const _event of result) {
        // drain the stream
      }
      await result.completed;
      expect((await session.getItems()).map(text)).toEqual(['Stream please', 'Streamed answer.']);
    });

    it('a run interrupted for tool approval and resumed does not duplicate items', async () => {
      const session = store.session(sessionId('hitl'));
      const refund = tool({
        name: 'refund',
        description: 'Refund an order',
        parameters: z.object({ order: z.string() }),
        needsApproval: true,
        execute: async ({ order }) => `refunded ${order}`,
      });
      const model = new ScriptedModel([
        [functionCall('refund', { order: 'A1' }, { callId: 'call_refund' })],
        [assistantMessage('Refund done.')],
      ]);
      const agent = new Agent({ name: 'support', model, tools: [refund] });
      const first = await run(agent, 'Refund order A1', { session });
      expect(first.interruptions).toHaveLength(1);
      first.state.approve(first.interruptions[0]!);
      const resumed = await run(agent, first.state, { session });
      expect(resumed.finalOutput).toBe('Refund done.');
      const stored = await session.getItems();
      const kinds = stored.map((item) => item.type ?? item.role);
      expect(kinds).toEqual(['message', 'function_call', 'function_call_result', 'message']);
      expect(stored.filter((item) => item.callId === 'call_refund')).toHaveLength(2);
    });

    it('two concurrent runs on one session id lose nothing', async () => {
      const id = sessionId('concurrent');
      const runOnce = (label: string) =>
        run(
          new Agent({ name: label, model: new ScriptedModel([[assistantMessage(`answer ${label}`)]]) }),
          `question ${label}`,
          {
            session: store.session(id),
          },
        );
      await Promise.all([runOnce('a'), runOnce('b')]);
      const stored = (await store.session(id).getItems()).map(text);
      expect(stored.sort()).toEqual(['answer a', 'answer b', 'question a', 'question b']);
    });
  });
}
