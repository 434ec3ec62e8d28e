/**
 * One conversation item as DOM, for what it is: messages and their content parts, tool calls beside
 * their outputs, hosted tool calls, reasoning (collapsed), refusals, images (only validated data:
 * and https: sources), compactions and encrypted envelopes (locked). Every stored string is text.
 */
import type { ItemEntry, TurnView } from '../shared/api.js';
import { button, h } from './dom.js';
import { isEnvelope, object, str } from './render/blocks.js';
import { body } from './render/body.js';

export { isEnvelope };

export interface RenderContext {
  allowWrites: boolean;
  turns: Map<number, TurnView>;
  /** The stored JSON of item `index`, from the server. */
  raw(index: number): Promise<unknown>;
  fork(turn: number): void;
  jump(index: number): void;
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
