// A stand-in for a real LLM so the example runs with no network and no API key. It answers
// only from the history the runner sends it, so a correct answer about an earlier turn
// proves that the session stored that turn and gave it back.
// (examples/chat-cli and examples/http-server each have a copy: each example is copied alone.)
import {
  type AgentInputItem,
  type AssistantMessageItem,
  type Model,
  type ModelRequest,
  type ModelResponse,
  type StreamEvent,
  Usage,
} from '@openai/agents';

/** The text of a message item (string content or the text parts of an array), else ''. */
export function textOf(item: AgentInputItem): string {
  if (!('role' in item)) return '';
  if (typeof item.content === 'string') return item.content;
  return item.content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('');
}

/** The reply to the newest user message, given every earlier item. */
export function reply(input: ModelRequest['input']): string {
  const items: AgentInputItem[] = typeof input === 'string' ? [{ role: 'user', content: input }] : input;
  const said = items.filter((item) => 'role' in item && item.role === 'user').map(textOf);
  const current = said.at(-1) ?? '';
  const name = (text: string) => /\b(?:my name is|call me)\s+([\p{L}\p{M}'-]+)/iu.exec(text)?.[1];

  if (name(current)) return `Nice to meet you, ${name(current)}.`;
  if (/\bwhat(?:'s| is) my name\b/i.test(current)) {
    const known = said.slice(0, -1).map(name).findLast(Boolean);
    return known ? `Your name is ${known}.` : "You haven't told me your name yet.";
  }
  if (/\bhow many\b.*\b(?:messages|turns)\b/i.test(current)) {
    return `This is message ${said.length} of this conversation.`;
  }
  return `You said: "${current}" (message ${said.length}; offline model, set OPENAI_API_KEY for a real one).`;
}

const message = (text: string): AssistantMessageItem => ({
  type: 'message',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text }],
});
const responseId = () => `offline_${crypto.randomUUID()}`;

export class OfflineModel implements Model {
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    return { usage: new Usage({ requests: 1 }), output: [message(reply(request.input))], responseId: responseId() };
  }

  // The runner calls this for `run(..., { stream: true })`: the same answer as one text delta.
  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    const text = reply(request.input);
    yield { type: 'response_started' };
    yield { type: 'output_text_delta', delta: text };
    yield {
      type: 'response_done',
      response: {
        id: responseId(),
        usage: { requests: 1, inputTokens: 0, outputTokens: 0, totalTokens: 0 },
        output: [message(text)],
      },
    };
  }
}
