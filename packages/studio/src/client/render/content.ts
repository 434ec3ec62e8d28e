/** Messages and their content parts (text, refusals, images, files, audio), tool outputs, reasoning. */
import { h } from '../dom.js';
import { code, jsonBlock, type Loose, object, prettyJson, str, text } from './blocks.js';
import { describeSource, image } from './media.js';

export function message(value: Loose): HTMLElement {
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

export function contentPart(part: unknown): HTMLElement {
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

export function toolOutput(output: unknown): HTMLElement {
  if (typeof output === 'string') return h('div', { class: 'body' }, code(prettyJson(output)));
  const parts = Array.isArray(output) ? output : [output];
  return h('div', { class: 'body' }, ...parts.map((part) => contentPart(part)));
}

export function reasoning(value: Loose): HTMLElement {
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
