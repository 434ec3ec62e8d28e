// The CLI as a new user meets it: help for typos, a version, fast failure when a store is
// unreachable, a source that is only ever read, and ids that are not there.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../src/cli.js';
import { openSessionStore } from '../src/open-store.js';

const dir = mkdtempSync(join(tmpdir(), 'sessions-cli-first-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const sink = (write: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        write(chunk.toString());
        done();
      },
    });
  const stdin = new PassThrough();
  stdin.end('');
  const code = await runCli(argv, {
    stdout: sink((t) => {
      stdout += t;
    }),
    stderr: sink((t) => {
      stderr += t;
    }),
    stdin,
    version: '9.8.7',
  });
  return { code, stdout, stderr };
}

describe('sessions, first run', () => {
  it('--version prints the version', async () => {
    expect(await cli(['--version'])).toMatchObject({ code: EXIT.ok, stdout: '9.8.7\n' });
    expect((await cli(['-V'])).stdout).toBe('9.8.7\n');
  });

  it('suggests the option, command and scheme that were probably meant', async () => {
    const option = await cli(['copy', 'memory:', 'memory:', '-s', 'a', '--overwrit']);
    expect(option.code).toBe(EXIT.usage);
    expect(option.stderr).toContain('unknown option --overwrit (did you mean --overwrite?)');
    const command = await cli(['cpy', 'memory:', 'memory:', '-s', 'a']);
    expect(command.stderr).toContain('unknown command "cpy" (did you mean copy?)');
    const scheme = await cli(['copy', 'postgress://db/app', 'memory:', '-s', 'a']);
    expect(scheme.code).toBe(EXIT.usage);
    expect(scheme.stderr).toContain('(did you mean postgres:?)');
  });

  it('an unreachable store is one message and exit 2, within the timeout', async () => {
    const started = Date.now();
    const ids = Array.from({ length: 12 }, (_, i) => ['-s', `id-${i}`]).flat();
    const run = await cli(['copy', 'redis://127.0.0.1:1', 'memory:', '--timeout', '1000', ...ids]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/cannot use redis:\/\/127\.0\.0\.1:1/);
    expect(run.stderr.match(/cannot use/g)).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('never creates anything in the source: a mistyped file path stays absent', async () => {
    const typo = join(dir, 'no-such.db');
    const run = await cli(['copy', `file:${typo}`, 'memory:typo-dest', '-s', 'a', '--json']);
    expect(existsSync(typo)).toBe(false);
    expect(run.code).toBe(EXIT.failed);
    expect(JSON.parse(run.stdout)).toMatchObject({ copied: [], missing: ['a'], failed: [] });
  });

  it('reports ids the source does not have as not found, with exit 1', async () => {
    await using source = await openSessionStore('memory:missing-src');
    await source.session('there').addItems([{ type: 'message', role: 'user', content: 'hi' }]);
    const run = await cli(['copy', 'memory:missing-src', 'memory:missing-dst', '-s', 'there', '-s', 'absent']);
    expect(run.code).toBe(EXIT.failed);
    expect(run.stderr).toContain('✗ absent: not found in the source (no items)');
    expect(run.stderr).toContain('1 session(s) copied (1 item(s) written, 0 already there), 1 not found');
  });

  it('a conflict names the CLI flag, not the library option', async () => {
    await using source = await openSessionStore('memory:conflict-src');
    await using dest = await openSessionStore('memory:conflict-dst');
    await source.session('c').addItems([{ type: 'message', role: 'user', content: 'source' }]);
    await dest.session('c').addItems([{ type: 'message', role: 'user', content: 'other' }]);
    const run = await cli(['copy', 'memory:conflict-src', 'memory:conflict-dst', '-s', 'c']);
    expect(run.code).toBe(EXIT.failed);
    expect(run.stderr).toContain('pass --overwrite to replace it');
  });
});
