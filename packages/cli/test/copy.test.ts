import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { EXIT, runCli } from '../src/cli.js';
import { openSessionStore } from '../src/open-store.js';

const dir = mkdtempSync(join(tmpdir(), 'sessions-cli-copy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = crypto.randomUUID().slice(0, 8).replace(/-/g, '');
const msg = (text: string, i: number) => ({ type: 'message', role: 'user', content: text, i });
const call = (id: string) => ({
  type: 'function_call',
  callId: id,
  name: 'f',
  arguments: '{"a":1}',
  status: 'completed',
});
const out = (id: string) => ({
  type: 'function_call_result',
  callId: id,
  name: 'f',
  status: 'completed',
  output: 'ok',
});

/** A history with tool calls, unicode and enough items for several pages. */
function historyOf(id: string, length: number) {
  return Array.from({ length }, (_, i) =>
    i % 7 === 3 ? call(`${id}-${i}`) : i % 7 === 4 ? out(`${id}-${i - 1}`) : msg(`${id} #${i} é😀\u0000`, i),
  );
}

function capture(isTTY = false) {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY, columns: 100 },
  );
  return { stream, text: () => text };
}

async function cli(argv: string[], options: { stdin?: string; tty?: boolean } = {}) {
  const stdout = capture();
  const stderr = capture(options.tty);
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? '');
  const code = await runCli(argv, { stdout: stdout.stream, stderr: stderr.stream, stdin });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function seed(url: string, sessions: Record<string, unknown[]>) {
  await using store = await openSessionStore(url);
  for (const [id, items] of Object.entries(sessions)) await store.session(id).addItems(items);
}

async function read(url: string, ids: string[]) {
  await using store = await openSessionStore(url);
  return Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await store.session(id).getItems()])));
}

describe('sessions copy', () => {
  const sessions = { alpha: historyOf('alpha', 250), beta: historyOf('beta', 3), 'gamma / ü': historyOf('g', 40) };
  const ids = Object.keys(sessions);

  it('memory → redis: copies every session in order, idempotently, with progress on stderr', async () => {
    const from = `memory:cli-${run}`;
    const to = `${inject('redisUrl')}?keyPrefix=cli_${run}`;
    await seed(from, sessions);
    const first = await cli(['copy', from, to, ...ids.flatMap((id) => ['--session', id]), '--page-size', '64']);
    expect(first.stderr).toContain('3 session(s) copied (293 item(s) written, 0 already there)');
    expect(first.stderr).toContain('✓ alpha: 250 item(s), 250 copied, 0 already there');
    expect(first.code).toBe(EXIT.ok);
    expect(await read(to, ids)).toEqual(sessions);

    // Re-running writes nothing; new items in the source are appended.
    await seed(from, { beta: [msg('later', 99)] });
    const again = await cli(['copy', from, to, '-s', 'alpha', '-s', 'beta', '-s', 'gamma / ü', '--json']);
    expect(again.code).toBe(EXIT.ok);
    const summary = JSON.parse(again.stdout);
    expect(summary.copied.map((r: { copied: number }) => r.copied).sort()).toEqual([0, 0, 1]);
    expect((await read(to, ['beta'])).beta).toEqual([...sessions.beta, msg('later', 99)]);
  });

  it('sqlite file → postgres: ids from a file, conflicts reported with exit 1, credentials never shown', async () => {
    const from = `file:${join(dir, 'source.db')}`;
    const password = 'pg-Secret-42';
    const pg = inject('postgresUrl').replace('postgres://postgres@', `postgres://postgres:${password}@`);
    const to = `${pg}?tablePrefix=cli_${run}_`;
    await seed(from, sessions);
    // A destination session that holds something else.
    await seed(to, { beta: [msg('already different', 0)] });
    const idsFile = join(dir, 'ids.txt');
    writeFileSync(idsFile, `alpha\r\n\nbeta\ngamma / ü\nalpha\n`);
    const result = await cli(['copy', from, to, '--ids-file', idsFile, '--concurrency', '2']);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('✗ beta: Cannot copy session "beta"');
    expect(result.stderr).toContain('2 session(s) copied');
    expect(result.stderr).toContain('1 failed');
    expect(result.stderr).toContain('postgres://***@127.0.0.1');
    expect(result.stderr + result.stdout).not.toContain(password);
    const copied = await read(to, ids);
    expect(copied.alpha).toEqual(sessions.alpha);
    expect(copied['gamma / ü']).toEqual(sessions['gamma / ü']);
    expect(copied.beta).toEqual([msg('already different', 0)]);

    // --overwrite replaces it; ids from stdin.
    const forced = await cli(['copy', from, to, '--ids-file', '-', '--overwrite', '-q'], { stdin: 'beta\n' });
    expect(forced.code).toBe(EXIT.ok);
    expect(forced.stderr).toBe('');
    expect((await read(to, ['beta'])).beta).toEqual(sessions.beta);
  });

  it('draws a live progress line on a terminal', async () => {
    const from = `memory:tty-${run}`;
    await seed(from, { long: historyOf('long', 500) });
    const result = await cli(['copy', from, `memory:tty-dest-${run}`, '-s', 'long', '--page-size', '10'], {
      tty: true,
    });
    expect(result.code).toBe(EXIT.ok);
    const redraw = '\r\u001b[2K';
    expect(result.stderr).toContain(`${redraw}0 done · copying long 0/500`);
    expect(result.stderr).toContain(`${redraw}1 done`);
    expect(result.stderr).toContain('1 session(s) copied (500 item(s) written, 0 already there)');
  });

  it('usage errors and unusable URLs exit with 2', async () => {
    expect((await cli([])).code).toBe(EXIT.usage);
    expect((await cli(['copy', 'memory:'])).code).toBe(EXIT.usage);
    expect((await cli(['copy', 'memory:', 'memory:'])).code).toBe(EXIT.usage); // no ids
    expect((await cli(['copy', 'memory:', 'memory:', '-s', 'a', '--ids-file', 'x'])).code).toBe(EXIT.usage);
    expect((await cli(['copy', 'memory:', 'memory:', '-s', 'a', '--concurrency', '0'])).code).toBe(EXIT.usage);
    const bad = await cli(['copy', 'memory:', 'gopher://u:topsecret@h/x', '-s', 'a']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain('Unsupported store URL');
    expect(bad.stderr).not.toContain('topsecret');
    const help = await cli(['--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain('sessions copy <from-url> <to-url>');
  });
});
