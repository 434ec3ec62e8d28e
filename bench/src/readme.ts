import { readFileSync, writeFileSync } from 'node:fs';

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/**
 * Puts the summary table of a full run between the bench markers of the root README, so the
 * README always shows the numbers of the committed `results/latest.*` (quick runs never do).
 */
export function updateReadme(readmePath: string, markdown: string, runLine: string): void {
  const start = markdown.indexOf('## Summary');
  const end = markdown.indexOf('\n## ', start + 5);
  if (start === -1) return;
  const table = markdown.slice(markdown.indexOf('\n', start) + 1, end === -1 ? undefined : end).trim();
  const readme = readFileSync(readmePath, 'utf8');
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from === -1 || to === -1) return;
  const section = `${START}\n${runLine}\n\n${table}\n\n![getItems latency against history length](bench/results/latency-vs-history.svg)\n${END}`;
  writeFileSync(readmePath, readme.slice(0, from) + section + readme.slice(to + END.length));
}
