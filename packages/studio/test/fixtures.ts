/**
 * Conversations for the tests and the screenshots: one with every item variant of
 * `@openai/agents`, one with stored XSS payloads, and a very long one.
 */
import { crc32, deflateSync } from 'node:zlib';
import type { SessionStore } from '@sessions/core';

/** A small PNG (a sky-to-sea gradient with a sun), as a data URL: something to look at in screenshots. */
export function picturePng(width = 160, height = 96): string {
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const sea = y > height * 0.62;
      const sun = (x - width * 0.72) ** 2 + (y - height * 0.35) ** 2 < (height * 0.14) ** 2;
      const t = y / height;
      const [r, g, b] = sun
        ? [255, 196, 64]
        : sea
          ? [20, 90 + 40 * t, 150 + 50 * t]
          : [120 + 100 * t, 170 + 60 * t, 235];
      row.set([r, g, b].map(Math.round), 1 + x * 3);
    }
    rows.push(row);
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return `data:image/png;base64,${png.toString('base64')}`;
}

const user = (text: string) => ({ type: 'message', role: 'user', content: text });
const assistant = (text: string, usage?: object) => ({
  type: 'message',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text }],
  ...(usage && { providerData: { usage } }),
});

/** Every variant the SDK stores, in a plausible order (4 turns after a system prompt). */
export function everyVariant(): unknown[] {
  return [
    { type: 'message', role: 'system', content: 'You are a travel assistant. Use the tools.' },
    {
      type: 'message',
      role: 'user',
      content: [
        { type: 'input_text', text: 'What is the weather in Lisbon, and what is in this picture?' },
        { type: 'input_image', image: picturePng(), detail: 'auto' },
        { type: 'input_file', file: { id: 'file-abc123' }, filename: 'itinerary.pdf' },
      ],
    },
    {
      type: 'reasoning',
      id: 'rs_1',
      content: [{ type: 'input_text', text: 'The user wants the weather; call get_weather for Lisbon first.' }],
    },
    {
      type: 'function_call',
      id: 'fc_1',
      callId: 'call_weather_1',
      name: 'get_weather',
      status: 'completed',
      arguments: JSON.stringify({ city: 'Lisbon', unit: 'celsius' }),
    },
    {
      type: 'function_call_result',
      callId: 'call_weather_1',
      name: 'get_weather',
      status: 'completed',
      output: { type: 'text', text: 'Sunny, 24 °C, light wind from the north-west.' },
    },
    {
      type: 'hosted_tool_call',
      id: 'ws_1',
      name: 'web_search_call',
      status: 'completed',
      arguments: JSON.stringify({ query: 'Lisbon events this weekend' }),
      output: 'Found 3 results: Festa de Santo António, a Fado night in Alfama, Jazz at the Gulbenkian.',
    },
    assistant(
      'Lisbon is sunny at 24 °C. The picture shows the sun over the sea. This weekend: Santo António, Fado in Alfama.',
      {
        inputTokens: 812,
        outputTokens: 64,
        totalTokens: 876,
      },
    ),
    user('Take a screenshot of the booking page, then list the files in the project.'),
    {
      type: 'computer_call',
      id: 'cu_1',
      callId: 'call_computer_1',
      status: 'completed',
      action: { type: 'screenshot' },
    },
    {
      type: 'computer_call_result',
      callId: 'call_computer_1',
      output: { type: 'computer_screenshot', data: picturePng(120, 72) },
    },
    {
      type: 'shell_call',
      id: 'sh_1',
      callId: 'call_shell_1',
      status: 'completed',
      action: { commands: ['ls -la', 'git status --short'], timeoutMs: 5000 },
    },
    {
      type: 'shell_call_output',
      callId: 'call_shell_1',
      output: [
        { stdout: 'README.md\npackage.json\nsrc\n', stderr: '', outcome: { type: 'exit', exitCode: 0 } },
        { stdout: '', stderr: 'fatal: not a git repository', outcome: { type: 'exit', exitCode: 128 } },
      ],
    },
    assistant('Here is the booking page and the project listing.', {
      inputTokens: 1530,
      outputTokens: 41,
      totalTokens: 1571,
    }),
    user('Fix the typo in the README.'),
    {
      type: 'apply_patch_call',
      id: 'ap_1',
      callId: 'call_patch_1',
      status: 'completed',
      operation: { type: 'update_file', path: 'README.md', diff: '@@ -1 +1 @@\n-# Trvel\n+# Travel\n' },
    },
    { type: 'apply_patch_call_output', callId: 'call_patch_1', status: 'completed', output: 'Updated README.md' },
    { type: 'compaction', id: 'cmp_1', encrypted_content: 'gAAAAABo-opaque-compaction-blob'.repeat(8) },
    assistant('Fixed: "Trvel" is now "Travel".'),
    user('Can you book it with my saved card?'),
    {
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'refusal', refusal: 'I cannot make payments on your behalf.' }],
    },
    {
      type: 'encrypted',
      v: 1,
      kid: 'key-2025',
      iv: 'AAECAwQFBgcICQoL',
      ct: 'q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQ',
    },
  ];
}

export const XSS_FLAG = '__studioXss';

/** Payloads that would run if the page ever turned stored text into HTML or links. */
export function xssPayloads(): unknown[] {
  return [
    user(`<img src=x onerror="window.${XSS_FLAG}=1;alert(1)">`),
    assistant(`<script>window.${XSS_FLAG}=2;alert(2)</script>`),
    {
      type: 'message',
      role: 'user',
      content: [
        { type: 'input_text', text: `[click me](javascript:window.${XSS_FLAG}=3)` },
        { type: 'input_image', image: `javascript:window.${XSS_FLAG}=4` },
        { type: 'input_file', file: { url: `javascript:window.${XSS_FLAG}=5` }, filename: 'x.html' },
        { type: 'input_image', image: 'data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+' },
      ],
    },
    {
      type: 'function_call',
      callId: 'call_xss',
      name: '<b onmouseover=alert(1)>tool</b>',
      arguments: `{"html":"<iframe src=javascript:alert(6)>"}`,
    },
    {
      type: 'function_call_result',
      callId: 'call_xss',
      name: 'x',
      status: 'completed',
      output: `<svg onload="window.${XSS_FLAG}=7">`,
    },
  ];
}

/** `count` items: a user message every 4th item, then three assistant replies. */
export function longHistory(count: number): unknown[] {
  return Array.from({ length: count }, (_, i) =>
    i % 4 === 0 ? user(`message ${i}: question`) : assistant(`message ${i}: answer`),
  );
}

export async function seed(store: SessionStore, sessions: Record<string, unknown[]>): Promise<void> {
  for (const [id, items] of Object.entries(sessions)) {
    const session = store.session(id);
    for (let i = 0; i < items.length; i += 1000) await session.addItems(items.slice(i, i + 1000));
  }
}
