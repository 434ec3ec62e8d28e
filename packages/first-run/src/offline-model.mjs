// The offline model that offline-hooks.mjs makes the Agents SDK's default: it answers only from
// the history the runner sends, so an answer about an earlier turn ("Your name is Ada.") shows
// that the session stored that turn and gave it back. No network, no API key.

/** The text of a message item: string content, or the text parts of an array. */
function textOf(item) {
  if (!item || typeof item !== 'object' || !('role' in item)) return '';
  if (typeof item.content === 'string') return item.content;
  if (!Array.isArray(item.content)) return '';
  return item.content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

/** The reply to the newest user message, given every earlier item. */
export function reply(input) {
  const items = typeof input === 'string' ? [{ role: 'user', content: input }] : input;
  const said = items.filter((item) => item?.role === 'user').map(textOf);
  const current = said.at(-1) ?? '';
  const name = (text) => /\b(?:my name is|call me)\s+([\p{L}\p{M}'-]+)/iu.exec(text)?.[1];
  if (name(current)) return `Nice to meet you, ${name(current)}.`;
  if (/\bwhat(?:'s| is) my name\b/i.test(current)) {
    const known = said.slice(0, -1).map(name).findLast(Boolean);
    return known ? `Your name is ${known}.` : "You haven't told me your name yet.";
  }
  return `You said: "${current}" (message ${said.length}, offline model).`;
}

const message = (text) => ({
  type: 'message',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text }],
});
const responseId = () => `offline_${crypto.randomUUID()}`;

/** Makes the offline model the default of `core` (the program's own `@openai/agents-core`). */
export function installOfflineModel(core) {
  const model = {
    async getResponse(request) {
      return {
        usage: new core.Usage({ requests: 1 }),
        output: [message(reply(request.input))],
        responseId: responseId(),
      };
    },
    // `run(..., { stream: true })`: the same answer as one text delta.
    async *getStreamedResponse(request) {
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
    },
  };
  core.setDefaultModelProvider({ getModel: () => model });
}
