/**
 * One conversation item as DOM, for what it is: messages and their content parts, tool calls beside
 * their outputs, hosted tool calls, reasoning (collapsed), refusals, images (only validated data:
 * and https: sources), compactions and encrypted envelopes (locked). Every stored string is text.
 */
import type { ItemEntry, TurnView } from '../shared/api.js';
import { safeImageSource } from '../shared/safe-url.js';
import { button, h } from './dom.js';

export interface RenderContext {
  allowWrites: boolean;
  turns: Map<number, TurnView>;
  /** The stored JSON of item `index`, from the server. */
  raw(index: number): Promise<unknown>;
  fork(turn: number): void;
  jump(index: number): void;
}

type Loose = Record<string, unknown>;

/** Characters of one text block shown before "show more". */
const TEXT_PREVIEW = 3_000;

function object(value: unknown): Loose | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Same test as core's `isEnvelope` (wrappers/encryption/envelope.ts), which core does not export. */
export function isEnvelope(value: unknown): boolean {
  const item = object(value);
  return (
    item?.type === 'encrypted' &&
    item.v === 1 &&
    typeof item.kid === 'string' &&
    typeof item.iv === 'string' &&
    typeof item.ct === 'string'
  );
}

/** A loading placeholder, replaced when its page arrives. */
export function renderPlaceholder(index: number): HTMLElement {
  return h('div', { class: 'row' }, h('article', { class: 'item placeholder' }, `#${index + 1} …`));
}

export function renderRow(entry: ItemEntry, context: RenderContext): HTMLElement {
  const row = h('div', { class: 'row' });
  if (entry.turnStart) row.appendChild(turnSeparator(entry.turn, context));
  row.appendChild(renderItem(entry, context));
  return row;
}

function turnSeparator(turn: number, context: RenderContext): HTMLElement {
  const view = context.turns.get(turn);
  const separator = h('div', { class: 'turn-sep', data: { turn: String(turn) } });
  separator.append(h('span', { class: 'turn-label' }, turn === 0 ? 'Before the first turn' : `Turn ${turn}`));
  if (view?.usage) {
    const { inputTokens, outputTokens, totalTokens } = view.usage;
    separator.append(
      h(
        'span',
        { class: 'usage', title: 'tokens, from the usage the items carry' },
        `${fmt(inputTokens)} in · ${fmt(outputTokens)} out · ${fmt(totalTokens)} total`,
      ),
    );
  }
  if (context.allowWrites && turn > 0) {
    separator.append(
      button(`Fork at turn ${turn}`, () => context.fork(turn), {
        class: 'small fork',
        title: `New session with turns 1–${turn} of this one`,
      }),
    );
  }
  return separator;
}

function fmt(value: number): string {
  return value.toLocaleString('en-US');
}

/** A type label and a one-word kind (for the colour of the card). */
function describe(item: unknown): { label: string; kind: string } {
  if (isEnvelope(item)) return { label: 'Encrypted', kind: 'locked' };
  const value = object(item);
  if (!value) return { label: 'Not an object', kind: 'other' };
  const type = str(value.type);
  const role = str(value.role);
  if (role && (type === undefined || type === 'message')) {
    const label = role === 'user' ? 'User' : role === 'assistant' ? 'Assistant' : role === 'system' ? 'System' : role;
    return { label, kind: ['user', 'assistant', 'system'].includes(role) ? role : 'other' };
  }
  switch (type) {
    case 'function_call':
      return { label: 'Function call', kind: 'call' };
    case 'function_call_result':
    case 'function_call_output':
      return { label: 'Function output', kind: 'output' };
    case 'computer_call':
      return { label: 'Computer call', kind: 'call' };
    case 'computer_call_result':
    case 'computer_call_output':
      return { label: 'Computer output', kind: 'output' };
    case 'shell_call':
      return { label: 'Shell call', kind: 'call' };
    case 'shell_call_output':
      return { label: 'Shell output', kind: 'output' };
    case 'apply_patch_call':
      return { label: 'Apply patch', kind: 'call' };
    case 'apply_patch_call_output':
      return { label: 'Patch result', kind: 'output' };
    case 'hosted_tool_call':
      return { label: 'Hosted tool', kind: 'call' };
    case 'program':
      return { label: 'Program', kind: 'call' };
    case 'program_output':
      return { label: 'Program output', kind: 'output' };
    case 'tool_search_call':
      return { label: 'Tool search', kind: 'call' };
    case 'tool_search_output':
      return { label: 'Tool search result', kind: 'output' };
    case 'reasoning':
      return { label: 'Reasoning', kind: 'reasoning' };
    case 'compaction':
      return { label: 'Compaction', kind: 'compaction' };
    default:
      return { label: type ?? 'Item', kind: 'other' };
  }
}

function renderItem(entry: ItemEntry, context: RenderContext): HTMLElement {
  const { item, index } = entry;
  const { label, kind } = describe(item);
  const card = h('article', { class: `item kind-${kind}`, data: { index: String(index) } });
  const head = h('header', { class: 'item-head' }, h('span', { class: 'badge' }, label));
  for (const note of notes(item)) head.append(h('span', { class: 'note' }, note));
  head.append(h('span', { class: 'spacer' }), h('span', { class: 'index' }, `#${index + 1}`));
  const raw = h('pre', { class: 'raw', hidden: true });
  head.append(
    button(
      '{ }',
      async (event) => {
        const toggle = event.currentTarget as HTMLButtonElement;
        if (!raw.hidden) {
          raw.hidden = true;
          toggle.setAttribute('aria-pressed', 'false');
          return;
        }
        raw.textContent = 'loading…';
        raw.hidden = false;
        toggle.setAttribute('aria-pressed', 'true');
        try {
          raw.textContent = JSON.stringify(await context.raw(index), null, 2);
        } catch (error) {
          raw.textContent = `could not load: ${(error as Error).message}`;
        }
      },
      { class: 'small raw-toggle', title: 'Stored JSON of this item', 'aria-pressed': 'false' },
    ),
  );
  card.append(head);
  if (entry.pair?.role === 'output') {
    card.classList.add('paired-output');
    card.append(
      h(
        'div',
        { class: 'pair-ref' },
        `↳ shown beside its call #${entry.pair.index + 1}`,
        ' ',
        button('Go to call', () => context.jump(entry.pair!.index), { class: 'small link' }),
      ),
    );
  } else if (entry.pair?.role === 'call') {
    const output = entry.pair.item;
    card.classList.add('paired');
    card.append(
      h(
        'div',
        { class: 'pair' },
        h('div', { class: 'pair-call' }, body(item)),
        h(
          'div',
          { class: 'pair-output' },
          h(
            'div',
            { class: 'pair-title' },
            `${describe(output).label} #${entry.pair.index + 1}`,
            ...notes(output).map((n) => h('span', { class: 'note' }, n)),
          ),
          body(output),
        ),
      ),
    );
  } else {
    card.append(body(item));
  }
  card.append(raw);
  return card;
}

/** Short facts shown in the card's header: status, call id, name. */
function notes(item: unknown): string[] {
  const value = object(item);
  if (!value || isEnvelope(item)) return [];
  const out: string[] = [];
  const name = str(value.name);
  if (name && value.type !== 'function_call') out.push(name);
  if (str(value.phase)) out.push(value.phase as string);
  const status = str(value.status);
  if (status && status !== 'completed') out.push(status);
  const callId = str(value.callId) ?? str(value.call_id);
  if (callId) out.push(callId);
  return out;
}

function body(item: unknown): HTMLElement {
  if (isEnvelope(item)) {
    const kid = str((item as Loose).kid) ?? '';
    return h(
      'div',
      { class: 'locked' },
      h('span', { class: 'lock' }, 'Locked'),
      ` encrypted with key "${kid}"; the studio has no key, so it stays sealed.`,
    );
  }
  const value = object(item);
  if (!value) return jsonBlock(item);
  const type = str(value.type);
  const role = str(value.role);
  if (role && (type === undefined || type === 'message')) return message(value);
  switch (type) {
    case 'function_call':
      return h(
        'div',
        { class: 'body' },
        h(
          'div',
          { class: 'call-name' },
          `${value.namespace ? `${String(value.namespace)}.` : ''}${String(value.name ?? '?')}(…)`,
        ),
        code(prettyJson(value.arguments)),
      );
    case 'function_call_result':
    case 'function_call_output':
      return toolOutput(value.output);
    case 'computer_call': {
      const actions = Array.isArray(value.actions) ? value.actions : value.action ? [value.action] : [];
      return h(
        'div',
        { class: 'body' },
        ...actions.map((action) => h('div', { class: 'action' }, computerAction(action))),
      );
    }
    case 'computer_call_result':
    case 'computer_call_output': {
      const output = object(value.output);
      const data = str(output?.data) ?? str(output?.image_url);
      return h('div', { class: 'body' }, image(data, 'screenshot') ?? text(data ?? ''));
    }
    case 'shell_call': {
      const action = object(value.action);
      const commands = Array.isArray(action?.commands) ? action.commands.map(String) : [];
      return h('div', { class: 'body' }, code(commands.map((c) => `$ ${c}`).join('\n')));
    }
    case 'shell_call_output': {
      const outputs = Array.isArray(value.output) ? value.output : [];
      return h(
        'div',
        { class: 'body' },
        ...outputs.map((raw) => {
          const out = object(raw) ?? {};
          const outcome = object(out.outcome);
          const exit =
            outcome?.type === 'timeout'
              ? 'timed out'
              : outcome?.type === 'exit'
                ? `exit ${String(outcome.exitCode)}`
                : '';
          return h(
            'div',
            { class: 'shell-out' },
            exit && h('div', { class: 'note' }, exit),
            str(out.stdout) ? code(out.stdout as string) : null,
            str(out.stderr) ? code(out.stderr as string, 'stderr') : null,
          );
        }),
      );
    }
    case 'apply_patch_call': {
      const operation = object(value.operation) ?? {};
      const move = str(operation.moveTo) ? ` → ${operation.moveTo}` : '';
      return h(
        'div',
        { class: 'body' },
        h('div', { class: 'call-name' }, `${String(operation.type ?? '?')} ${String(operation.path ?? '')}${move}`),
        str(operation.diff) !== undefined ? code(operation.diff as string, 'diff') : null,
      );
    }
    case 'apply_patch_call_output':
    case 'program_output':
      return h('div', { class: 'body' }, str(value.output) !== undefined ? code(value.output as string) : null);
    case 'program':
      return h('div', { class: 'body' }, code(String(value.code ?? '')));
    case 'hosted_tool_call':
      return h(
        'div',
        { class: 'body' },
        value.arguments !== undefined ? labelled('arguments', code(prettyJson(value.arguments))) : null,
        value.output !== undefined ? labelled('output', code(prettyJson(value.output))) : null,
      );
    case 'tool_search_call':
      return h('div', { class: 'body' }, code(prettyJson(value.arguments)));
    case 'tool_search_output': {
      const tools = Array.isArray(value.tools) ? value.tools : [];
      const names = tools.map((tool) => str(object(tool)?.name) ?? JSON.stringify(tool));
      return h('div', { class: 'body' }, text(`${tools.length} tool(s): ${names.join(', ')}`));
    }
    case 'reasoning':
      return reasoning(value);
    case 'compaction':
      return h(
        'div',
        { class: 'body' },
        text(
          `The history before this point was compacted by ${str(value.created_by) ?? 'the model'}: ` +
            `${(str(value.encrypted_content) ?? '').length.toLocaleString('en-US')} characters of opaque content the model reads back.`,
        ),
      );
    default:
      return jsonBlock(item);
  }
}

function message(value: Loose): HTMLElement {
  const container = h('div', { class: 'body message' });
  const { content } = value;
  if (typeof content === 'string') {
    container.append(text(content));
  } else if (Array.isArray(content)) {
    for (const part of content) container.append(contentPart(part));
  } else if (content !== undefined) {
    container.append(jsonBlock(content));
  }
  return container;
}

function contentPart(part: unknown): HTMLElement {
  const value = object(part);
  if (!value) return jsonBlock(part);
  switch (value.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
    case 'reasoning_text':
      return text(str(value.text) ?? '');
    case 'refusal':
      return h('div', { class: 'refusal' }, h('strong', null, 'Refusal: '), str(value.refusal) ?? '');
    case 'input_image':
    case 'image': {
      const source = value.image ?? value.image_url;
      const inner = object(source);
      const candidate = str(source) ?? str(inner?.url) ?? str(inner?.data);
      const fileId = str(inner?.id) ?? str(inner?.fileId) ?? str(value.file_id);
      return (
        image(candidate, 'image') ??
        h(
          'div',
          { class: 'attachment' },
          fileId ? `Image: file ${fileId}` : `Image not shown (${describeSource(candidate)})`,
        )
      );
    }
    case 'input_file':
    case 'file': {
      const file = value.file;
      const inner = object(file);
      const name = str(value.filename) ?? str(inner?.filename) ?? 'file';
      const where =
        str(inner?.id) !== undefined
          ? `file ${inner!.id}`
          : str(inner?.url) !== undefined
            ? String(inner!.url)
            : str(file) !== undefined
              ? `${(file as string).length.toLocaleString('en-US')} characters of data`
              : str(inner?.data) !== undefined
                ? `${(inner!.data as string).length.toLocaleString('en-US')} characters of data`
                : '';
      return h('div', { class: 'attachment' }, `File: ${name}${where ? ` — ${where}` : ''}`);
    }
    case 'audio': {
      const transcript = str(value.transcript);
      return h(
        'div',
        { class: 'attachment' },
        `Audio${str(value.format) ? ` (${value.format})` : ''}${transcript ? `: “${transcript}”` : ''}`,
      );
    }
    default:
      return jsonBlock(part);
  }
}

function toolOutput(output: unknown): HTMLElement {
  if (typeof output === 'string') return h('div', { class: 'body' }, code(prettyJson(output)));
  const parts = Array.isArray(output) ? output : [output];
  return h('div', { class: 'body' }, ...parts.map((part) => contentPart(part)));
}

function reasoning(value: Loose): HTMLElement {
  const details = h('details', { class: 'reasoning' });
  const parts = [
    ...(Array.isArray(value.content) ? value.content : []),
    ...(Array.isArray(value.rawContent) ? value.rawContent : []),
  ];
  const first = parts.map((part) => str(object(part)?.text) ?? '').find((t) => t !== '') ?? '';
  details.append(
    h(
      'summary',
      null,
      parts.length > 0
        ? `${parts.length} part(s): ${first.slice(0, 120)}${first.length > 120 ? '…' : ''}`
        : 'no readable content (encrypted by the provider)',
    ),
  );
  for (const part of parts) details.append(contentPart(part));
  return h('div', { class: 'body' }, details);
}

function computerAction(action: unknown): string {
  const value = object(action);
  if (!value) return JSON.stringify(action);
  const { type, ...rest } = value;
  const args = Object.entries(rest)
    .map(([key, v]) => `${key}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(type)}${args ? ` ${args}` : ''}`;
}

function describeSource(source: string | undefined): string {
  if (source === undefined) return 'no source';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1];
  return scheme ? `${scheme}: source refused` : 'unrecognised data';
}

/** An `<img>` only for a source that passed `safeImageSource`; otherwise `undefined`. */
function image(candidate: string | undefined, alt: string): HTMLElement | undefined {
  const source = safeImageSource(candidate);
  if (!source) return undefined;
  const element = h('img', { class: 'inline-image', alt, loading: 'lazy', decoding: 'async' });
  element.referrerPolicy = 'no-referrer';
  element.src = source;
  return element;
}

/** A block of text, with a "show more" for long ones (they would make huge rows). */
function text(value: string): HTMLElement {
  const element = h('div', { class: 'text' });
  if (value.length <= TEXT_PREVIEW) {
    element.textContent = value;
    return element;
  }
  element.textContent = `${value.slice(0, TEXT_PREVIEW)}…`;
  const more = button(
    `show ${(value.length - TEXT_PREVIEW).toLocaleString('en-US')} more characters`,
    () => {
      element.textContent = value;
    },
    { class: 'small link' },
  );
  const wrapper = h('div', null, element, more);
  more.addEventListener('click', () => more.remove());
  return wrapper;
}

function code(value: string, variant = ''): HTMLElement {
  const element = h('pre', { class: `code ${variant}`.trim() });
  element.textContent =
    value.length > TEXT_PREVIEW * 4
      ? `${value.slice(0, TEXT_PREVIEW * 4)}\n… (${value.length.toLocaleString('en-US')} characters; see { } for all)`
      : value;
  return element;
}

function labelled(label: string, content: HTMLElement): HTMLElement {
  return h('div', null, h('div', { class: 'label' }, label), content);
}

function jsonBlock(value: unknown): HTMLElement {
  return h('div', { class: 'body' }, code(JSON.stringify(value, null, 2) ?? String(value)));
}

/** A JSON string shown indented when it parses, as it is otherwise. */
function prettyJson(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value, null, 2) ?? String(value);
  try {
    const parsed = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null ? JSON.stringify(parsed, null, 2) : value;
  } catch {
    return value;
  }
}
