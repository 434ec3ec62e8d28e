/** The body of one item's card, by item type: messages, tool calls and outputs, compactions, envelopes. */
import { h } from '../dom.js';
import { code, isEnvelope, jsonBlock, type Loose, labelled, object, prettyJson, str, text } from './blocks.js';
import { message, reasoning, toolOutput } from './content.js';
import { image } from './media.js';

export function body(item: unknown): HTMLElement {
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

function computerAction(action: unknown): string {
  const value = object(action);
  if (!value) return JSON.stringify(action);
  const { type, ...rest } = value;
  const args = Object.entries(rest)
    .map(([key, v]) => `${key}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(type)}${args ? ` ${args}` : ''}`;
}
