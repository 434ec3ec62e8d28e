// The CLI as a user runs it: separate processes, offline model, history only in the store.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = mkdtempSync(join(tmpdir(), 'chat-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI to completion with standard input not a terminal and no API key. */
function cli(args: string[], cwd = dir): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { OPENAI_API_KEY: _key, SESSIONS_URL: _url, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', tsx, main, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject).once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The `/history` lines of an output, as [role, text]. */
const history = (stdout: string) =>
  [...stdout.matchAll(/^ *\d+\. (\w+) +(.*)$/gm)].map((match) => [match[1], match[2]] as const);

const ADA = [
  ['user', 'My name is Ada.'],
  ['assistant', 'Nice to meet you, Ada.'],
  ['user', 'What is my name?'],
  ['assistant', 'Your name is Ada.'],
];

const stores = [
  { name: 'sqlite', url: () => `file:${join(dir, 'chat.db')}` },
  { name: 'redis', url: () => inject('redisUrl') },
  { name: 'postgres', url: () => inject('postgresUrl') },
];

for (const store of stores) {
  describe(`chat-cli on ${store.name}`, () => {
    const session = () => `chat-cli-${Math.random().toString(36).slice(2, 10)}`;

    it('a second process recalls the name told to the first, and the history is in order', async () => {
      const base = ['--store', store.url(), '--session', session()];
      const first = await cli([...base, '--say', 'My name is Ada.']);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('assistant> Nice to meet you, Ada.');

      const second = await cli([...base, '--say', 'What is my name?', '--say', '/history']);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('assistant> Your name is Ada.');
      expect(history(second.stdout)).toEqual(ADA);
    });

    it('/undo removes the whole last exchange and /clear forgets everything', async () => {
      const base = ['--store', store.url(), '--session', session()];
      const say = (...lines: string[]) => cli([...base, ...lines.flatMap((line) => ['--say', line])]);
      const undone = await say('My name is Ada.', 'My name is Bob.', '/undo', 'What is my name?', '/history');
      expect(undone.code).toBe(0);
      expect(undone.stdout).toContain('(undid the last exchange: 2 item(s) starting with "My name is Bob.")');
      expect(history(undone.stdout)).toEqual(ADA);

      const cleared = await say('/clear', '/history', '/undo', 'What is my name?');
      expect(cleared.stdout).toContain('(no history)');
      expect(cleared.stdout).toContain('(nothing to undo)');
      expect(cleared.stdout).toContain("assistant> You haven't told me your name yet.");
    });
  });
}

describe('the scripted demo (what `pnpm demo` runs when standard input is not a terminal)', () => {
  it('runs two fresh processes on the default SQLite file and prints the stored history', async () => {
    const cwd = mkdtempSync(join(dir, 'demo-'));
    for (let attempt = 1; attempt <= 2; attempt++) {
      // Run twice: the demo starts its own session afresh, so the output is the same each time.
      const { code, stdout, stderr } = await cli([], cwd);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const pids = [...stdout.matchAll(/-- run (\d): a new process \(pid (\d+)\) --/g)].map((match) => match[2]);
      expect(pids).toHaveLength(2);
      expect(pids[0]).not.toBe(pids[1]);
      expect(stdout).toContain('assistant> Your name is Ada.');
      expect(history(stdout)).toEqual(ADA);
    }
    expect(existsSync(join(cwd, 'chat.db'))).toBe(true);
  }, 120_000); // six Node processes

  it('fails with a message and exit code 1 when the store cannot be opened', async () => {
    const { code, stderr } = await cli(['--store', 'nosuchscheme://x', '--say', 'hi']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/nosuchscheme/);
  });
});
