/** Small shared pieces of the item renderer: loose-value readers, text and code blocks, JSON. */
import { button, h } from '../dom.js';

export type Loose = Record<string, unknown>;

/** Characters of one text block shown before "show more". */
export const TEXT_PREVIEW = 3_000;

export function object(value: unknown): Loose | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : undefined;
}

export function str(value: unknown): string | undefined {
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

/** A block of text, with a "show more" for long ones (they would make huge rows). */
export function text(value: string): HTMLElement {
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

export function code(value: string, variant = ''): HTMLElement {
  const element = h('pre', { class: `code ${variant}`.trim() });
  element.textContent =
    value.length > TEXT_PREVIEW * 4
      ? `${value.slice(0, TEXT_PREVIEW * 4)}\n… (${value.length.toLocaleString('en-US')} characters; see { } for all)`
      : value;
  return element;
}

export function labelled(label: string, content: HTMLElement): HTMLElement {
  return h('div', null, h('div', { class: 'label' }, label), content);
}

export function jsonBlock(value: unknown): HTMLElement {
  return h('div', { class: 'body' }, code(JSON.stringify(value, null, 2) ?? String(value)));
}

/** A JSON string shown indented when it parses, as it is otherwise. */
export function prettyJson(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value, null, 2) ?? String(value);
  try {
    const parsed = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null ? JSON.stringify(parsed, null, 2) : value;
  } catch {
    return value;
  }
}
