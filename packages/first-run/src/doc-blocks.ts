/**
 * The code blocks of the documentation, and what a package README may not contain on npm.
 *
 * Convention: a fenced ts/typescript/js/javascript block is a complete program unless its info
 * string says otherwise: ```ts fragment (not run) or ```ts node24 (run on Node 24 only: the
 * `await using` form).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const RUN_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript']);
export const FLAGS = new Set(['fragment', 'node24']);

export interface CodeBlock {
  /** Path relative to the repository root, with `/`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word, lower case (`ts`). */
  language: string;
  /** The other words of the info string (`fragment`, `node24`). */
  flags: string[];
  code: string;
}

/** Every fenced block of `markdown` (``` or ~~~ fences of any length, indented or not). */
export function codeBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)(.*)$/.exec(lines[index]!);
    if (!open) continue;
    const fence = open[1]!;
    const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let end = index + 1;
    while (end < lines.length && !close.test(lines[end]!)) end++;
    blocks.push({
      file,
      line: index + 1,
      language: open[2]!.toLowerCase(),
      flags: open[3]!.trim().split(/\s+/).filter(Boolean),
      code: lines.slice(index + 1, end).join('\n'),
    });
    index = end;
  }
  return blocks;
}

/** The documentation whose code blocks are tested: README.md, packages/*, examples/* READMEs, docs/*.md. */
export function documentationFiles(root: string): string[] {
  const files = ['README.md'];
  for (const folder of ['packages', 'examples']) {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(join(root, folder, entry.name, 'README.md'))) {
        files.push(`${folder}/${entry.name}/README.md`);
      }
    }
  }
  if (existsSync(join(root, 'docs'))) {
    for (const name of readdirSync(join(root, 'docs'))) if (name.endsWith('.md')) files.push(`docs/${name}`);
  }
  return files.sort();
}

/** The TypeScript/JavaScript blocks of every documentation file. */
export function documentationBlocks(root: string): CodeBlock[] {
  return documentationFiles(root).flatMap((file) =>
    codeBlocks(relative(root, join(root, file)).split('\\').join('/'), readFileSync(join(root, file), 'utf8')).filter(
      (block) => RUN_LANGUAGES.has(block.language),
    ),
  );
}

/** Outside code blocks: text and inline code, where links and paths are read. */
function prose(markdown: string): string {
  const lines = markdown.split(/\r?\n/);
  for (const block of codeBlocks('', markdown)) {
    const length = block.code === '' ? 0 : block.code.split('\n').length;
    for (let line = block.line - 1; line <= block.line + length; line++) lines[line] = '';
  }
  return lines.join('\n');
}

/** Link targets that npm's page cannot follow: anything but an absolute URL or a `#anchor`. */
export function relativeLinks(markdown: string): string[] {
  const text = prose(markdown);
  const targets = [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)/g)].map((match) => match[1]!), // [text](target)
    ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/gm)].map((match) => match[1]!), // [ref]: target
    ...[...text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)].map((match) => match[1]!), // HTML
  ];
  return targets.filter((target) => !/^([a-z][a-z0-9+.-]*:|#)/i.test(target));
}

/** Paths into folders a package's tarball does not ship (`src/…`, `test/…`), outside absolute URLs. */
export function unshippedPaths(markdown: string): string[] {
  const text = prose(markdown).replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '');
  return [...text.matchAll(/(?<![\w.-])(?:\.\/)?(?:src|test)\/[\w./*-]*/g)].map((match) => match[0]);
}
