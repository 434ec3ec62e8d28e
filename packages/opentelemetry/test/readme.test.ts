// The README's console example (a fragment for the shared doc tests, which do not install the
// OpenTelemetry SDK) runs here, where the SDK is installed: with tsx, on the built package, against
// the test Redis, and prints the spans nested in one trace and the metrics.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, inject, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
// Inside the package, so that `@sessions/opentelemetry` resolves to its own build and the SDK to its devDependencies.
const runDir = join(packageDir, 'test', `.readme-run-${process.pid}`);
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

/** The first ```ts block after `heading`. */
function blockAfter(markdown: string, heading: string): string {
  const section = markdown.slice(markdown.indexOf(heading));
  const match = /```ts[^\n]*\n([\s\S]*?)\n```/.exec(section);
  if (!match) throw new Error(`no ts block after ${heading}`);
  return match[1]!;
}

it('the console example prints its spans in one trace, nested, and the metrics', async () => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const code = blockAfter(readme, '## A Node app exporting to the console');
  mkdirSync(runDir, { recursive: true });
  const file = join(runDir, 'console-app.ts');
  // A session id of this run's own, so that runs against a shared server do not meet.
  writeFileSync(file, code.replaceAll("'user-42'", `'readme-${process.pid}-${Date.now()}'`));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], {
    cwd: runDir,
    env: { ...process.env, REDIS_URL: inject('redisUrl') },
    timeout: 60_000,
  });
  // A span prints its name right before its id (a scope or a metric has no id).
  const spanNames = [...stdout.matchAll(/name: '([^']+)',\s*id: '/g)].map((m) => m[1]);
  expect(spanNames).toEqual(['sessions addItems', 'sessions getItems', 'handle message']);
  const traceIds = new Set([...stdout.matchAll(/traceId: '([0-9a-f]{32})'/g)].map((m) => m[1]));
  expect(traceIds.size).toBe(1);
  expect(stdout).toContain("'db.system.name': 'redis'");
  expect(stdout).toContain("'sessions.item_count': 1");
  expect(stdout).toContain('sessions.operation.duration');
  expect(stdout).toMatch(/\[ \{ content: 'Hello', role: 'user' \} \]/); // getItems(10), printed by the example
  // Both session spans are children of "handle message": their parent is the id printed with it.
  const handleId = /name: 'handle message',\s*id: '([0-9a-f]{16})'/.exec(stdout)?.[1];
  const parents = [...stdout.matchAll(/parentSpanContext: \{\s*traceId: '[0-9a-f]+',\s*spanId: '([0-9a-f]{16})'/g)];
  expect(handleId).toBeDefined();
  expect(parents.map((m) => m[1])).toEqual([handleId, handleId]);
});
