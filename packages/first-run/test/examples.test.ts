// Every examples/* folder as a user gets it: copied out of the repository, installed with plain
// `npm install` (the packed tarballs in place of its @sessions ranges), type-checked with its own
// tsconfig, and its offline smoke path (`npm run smoke`) run on Node 20, 22 and 24 with no network.
// The examples' own vitest tests run inside the repository (`pnpm --filter @sessions/example-* test`).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  createProject,
  type ExecResult,
  type NodeMajor,
  nodeBinary,
  offlineEnvironment,
  type Project,
  REPO_ROOT,
} from '../src/harness.ts';

const NODE_VERSIONS: NodeMajor[] = [20, 22, 24];
const EXAMPLES_DIR = join(REPO_ROOT, 'examples');

/** A line each example's smoke run prints only when its check passed (besides its own "smoke ok"). */
const PROOF: Record<string, string> = {
  // The second of two processes answered from the history the first one stored.
  'chat-cli': 'assistant> Your name is Ada.',
  // The server's second answer needed the first turn, read back from its SQLite file.
  'http-server': '-> 200 {"reply":"Your name is Ada."}',
};

const examples = readdirSync(EXAMPLES_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(EXAMPLES_DIR, entry.name, 'package.json')))
  .map((entry) => entry.name)
  .sort();

const manifestOf = (example: string) =>
  JSON.parse(readFileSync(join(EXAMPLES_DIR, example, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const report = (what: string, result: ExecResult) =>
  `${what} exited ${result.code}\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout}`;

// Every copy is installed at once, and Node 22/24 fetched meanwhile: each test awaits what it needs.
const projects = new Map<string, Promise<Project>>();
const timings = new Map<string, string[]>(examples.map((example) => [example, []]));
let env: Record<string, string>;

beforeAll(() => {
  env = offlineEnvironment(inject('serviceUrls'));
  for (const example of examples) {
    const project = createProject({ name: `example-${example}`, copyFrom: join(EXAMPLES_DIR, example) });
    // Handled here so that a failed install is not an unhandled rejection; every test awaiting it reports it.
    project.then((copy) => timings.get(example)!.push(`npm install ${seconds(copy.installMs)}`)).catch(() => {});
    projects.set(example, project);
  }
  for (const node of NODE_VERSIONS) nodeBinary(node).catch(() => {});
});

afterAll(async () => {
  for (const [example, project] of projects) {
    console.log(`[examples] ${example}: ${timings.get(example)!.join('; ')}`);
    await (await project.catch(() => undefined))?.remove();
  }
});

test('the examples folder has examples, each with a smoke check listed here', () => {
  expect(examples.length).toBeGreaterThan(0);
  // A new example needs its line in PROOF: a smoke run that exits 0 is not enough on its own.
  expect(examples.filter((example) => !PROOF[example])).toEqual([]);
});

for (const example of examples) {
  describe(`examples/${example} copied out of the repository`, () => {
    const manifest = manifestOf(example);
    const project = () => projects.get(example)!;
    const timing = (entry: string) => timings.get(example)!.push(entry);

    test('names only what npm can install: no workspace: ranges; has a smoke script', () => {
      const ranges = { ...manifest.dependencies, ...manifest.devDependencies };
      expect(Object.entries(ranges).filter(([, range]) => range.startsWith('workspace:'))).toEqual([]);
      expect(manifest.scripts?.smoke).toEqual(expect.any(String));
    });

    test('npx tsc --noEmit -p . passes with its own tsconfig', async () => {
      const copy = await project();
      // Self-contained: nothing in tsconfig.json reaches outside the folder.
      expect(readFileSync(join(copy.dir, 'tsconfig.json'), 'utf8')).not.toMatch(/"extends"|\.\.\//);
      const started = performance.now();
      const result = await copy.exec('npx', ['tsc', '--noEmit', '-p', '.'], { env, timeoutMs: 120_000 });
      timing(`tsc ${seconds(performance.now() - started)}`);
      expect(result.code, report('tsc', result)).toBe(0);
    });

    for (const node of NODE_VERSIONS) {
      test(`npm run smoke passes on Node ${node}, offline`, async () => {
        const [copy] = await Promise.all([project(), nodeBinary(node)]);
        const started = performance.now();
        const result = await copy.exec('npm', ['run', 'smoke'], { node, env, timeoutMs: 120_000 });
        timing(`smoke on Node ${node} ${seconds(performance.now() - started)}`);
        const what = report(`npm run smoke on Node ${node}`, result);
        expect(result.code, what).toBe(0);
        expect(result.stdout, what).toContain(PROOF[example]);
        // It ran on that Node: npm and tsx start the program with the `node` first in PATH.
        expect(/^smoke ok on Node v(\d+)\./m.exec(result.stdout)?.[1], what).toBe(String(node));
      });
    }
  });
}
