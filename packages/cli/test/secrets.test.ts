// Issue #13 through the CLI: hostile passwords in every backend's URL form never reach its output,
// and --json stays valid JSON whatever the session ids look like.
import { PassThrough, Writable } from 'node:stream';
import { HOSTILE_PASSWORDS, LEAK_MARKER } from '@sessions/core/testing';
import { describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../src/cli.js';
import { openSessionStore } from '../src/open-store.js';

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

async function cli(argv: string[]) {
  const stdout = capture();
  const stderr = capture();
  const stdin = new PassThrough();
  stdin.end('');
  const code = await runCli(argv, { stdout: stdout.stream, stderr: stderr.stream, stdin });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Every backend's URL form with the password written raw, pointing at a closed port. */
const URL_FORMS: Array<[string, (password: string) => string]> = [
  ['redis', (pw) => `redis://:${pw}@127.0.0.1:1`],
  ['postgres', (pw) => `postgres://app:${pw}@127.0.0.1:1/app?connect_timeout=1`],
  ['mongodb', (pw) => `mongodb://app:${pw}@127.0.0.1:1/app?serverSelectionTimeoutMS=300`],
  ['libsql over http', (pw) => `http://app:${pw}@127.0.0.1:1`],
  ['dynamodb', (pw) => `dynamodb://AKID:${pw}@127.0.0.1:1/table?region=us-east-1`],
];

describe('sessions copy never prints a credential', () => {
  for (const [name, form] of URL_FORMS) {
    it(`${name}: every hostile password, as source and as destination`, async () => {
      const runs = await Promise.all(
        HOSTILE_PASSWORDS.flatMap((password) => [
          cli(['copy', form(password), 'memory:', '-s', 'a', '--json']),
          cli(['copy', 'memory:', form(password), '-s', 'a', '--json', '--no-verify']),
        ]),
      );
      for (const run of runs) {
        expect(run.code).not.toBe(EXIT.ok);
        expect(`${run.stdout}\n${run.stderr}`).not.toContain(LEAK_MARKER);
      }
    }, 120_000);
  }
});

describe('--json output', () => {
  it('is valid JSON and keeps session ids that look like secrets exactly', async () => {
    const ids = ['token=abc123', 'password=hunter2', 'redis://u:p@h', 'line\nbreak', 'ok'];
    await using source = await openSessionStore('memory:json-ids');
    for (const id of ids) await source.session(id).addItems([{ type: 'message', role: 'user', content: id }]);
    const args = ['copy', 'memory:json-ids', 'memory:json-ids-copy', '--json', '-q'];
    const run = await cli([...args, ...ids.flatMap((id) => ['-s', id])]);
    expect(run.code).toBe(EXIT.ok);
    const parsed = JSON.parse(run.stdout);
    expect(parsed.copied.map((r: { sessionId: string }) => r.sessionId).sort()).toEqual([...ids].sort());
    await using copy = await openSessionStore('memory:json-ids-copy');
    expect(await copy.session('token=abc123').getItems()).toEqual([
      { type: 'message', role: 'user', content: 'token=abc123' },
    ]);
  });

  it('on a terminal, ids are printed as they are with control characters escaped', async () => {
    await using source = await openSessionStore('memory:tty-ids');
    await source.session('token=abc\u001b[31m').addItems([{ type: 'message', role: 'user', content: 'x' }]);
    const run = await cli(['copy', 'memory:tty-ids', 'memory:tty-ids-copy', '-s', 'token=abc\u001b[31m']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stderr).toContain('✓ token=abc\\u001b[31m: 1 item(s)');
    expect(run.stderr).not.toContain('\u001b[31m');
  });
});
