import { PassThrough, Writable } from 'node:stream';
import type { SessionCatalog } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../src/cli.js';
import { openSessionStore } from '../src/open-store.js';

const run = globalThis.crypto.randomUUID().slice(0, 8);
const msg = (text: string) => ({ type: 'message', role: 'user', content: text });

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

async function cli(argv: string[], stdinText = '') {
  const stdout = capture();
  const stderr = capture();
  const stdin = new PassThrough();
  stdin.end(stdinText);
  const code = await runCli(argv, { stdout: stdout.stream, stderr: stderr.stream, stdin });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Three sessions written in order, then 'a' and 'c' labelled: newest first is c, a, b. */
async function seed(url: string) {
  await using store = await openSessionStore(url);
  const sessions = { a: [msg('a1'), msg('a2')], b: [msg('b1')], c: [msg('c1'), msg('c2'), msg('c3')] };
  for (const [id, items] of Object.entries(sessions)) {
    await store.session(id).addItems(items);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await (store.session('a') as never as { updateMetadata(m: object): Promise<unknown> }).updateMetadata({
    team: 'x',
    tier: 1,
  });
  await new Promise((resolve) => setTimeout(resolve, 5));
  await (store.session('c') as never as { updateMetadata(m: object): Promise<unknown> }).updateMetadata({ team: 'y' });
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('sessions list / show / delete', () => {
  it('lists newest first, filters by metadata, shows one session, deletes', async () => {
    const url = `memory:catalog-${run}`;
    await seed(url);
    const all = await cli(['list', url, '--json']);
    expect(all.code).toBe(EXIT.ok);
    expect(lines(all.stdout).map((info) => [info.sessionId, info.itemCount])).toEqual([
      ['c', 3],
      ['a', 2],
      ['b', 1],
    ]);
    const x = await cli(['list', url, '--metadata', 'team=x', '--metadata', 'tier=1', '--json']);
    expect(lines(x.stdout).map((info) => info.sessionId)).toEqual(['a']);
    expect((await cli(['list', url, '--metadata', 'tier=one', '--json'])).stdout).toBe('');
    expect(lines((await cli(['list', url, '--limit', '1', '--json'])).stdout)).toHaveLength(1);
    const human = await cli(['list', url]);
    expect(human.stdout).toMatch(/^c {2}3 item\(s\) {2}updated .* {2}\{"team":"y"\}$/m);
    expect(human.stderr).toContain('3 session(s)');

    const shown = await cli(['show', url, 'c', '--limit', '2', '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ sessionId: 'c', itemCount: 3, items: [msg('c2'), msg('c3')] });
    expect((await cli(['show', url, 'c'])).stdout).toContain('3. {"content":"c3"');
    expect((await cli(['show', url, 'nobody'])).code).toBe(EXIT.failed);

    const deleted = await cli(['delete', url, 'b', 'nobody']);
    expect(deleted.code).toBe(EXIT.failed);
    expect(deleted.stderr).toContain('✓ deleted b');
    expect(deleted.stderr).toContain('✗ not found: nobody');
    expect(lines((await cli(['list', url, '--json'])).stdout).map((info) => info.sessionId)).toEqual(['c', 'a']);
  });

  it('refuses bad arguments with usage (exit 2)', async () => {
    expect((await cli(['list'])).code).toBe(EXIT.usage);
    expect((await cli(['list', 'memory:', '--metadata', 'novalue'])).code).toBe(EXIT.usage);
    expect((await cli(['show', 'memory:'])).code).toBe(EXIT.usage);
    expect((await cli(['lsit', 'memory:'])).stderr).toContain('did you mean list?');
    expect((await cli(['list', 'memory:', '--limit', '0'])).code).toBe(EXIT.usage);
  });
});

describe('sessions export / import / copy --all', () => {
  it('export → import round-trips items and metadata, idempotently; a differing session needs --overwrite', async () => {
    const from = `memory:export-${run}`;
    const to = `memory:import-${run}`;
    await seed(from);
    const exported = await cli(['export', from]);
    expect(exported.code).toBe(EXIT.ok);
    expect(lines(exported.stdout).map((line) => line.sessionId)).toEqual(['c', 'a', 'b']);
    for (let i = 0; i < 2; i++) {
      const imported = await cli(['import', to, '-'], exported.stdout);
      expect(imported.code).toBe(EXIT.ok);
      expect(imported.stderr).toContain('3 session(s) imported');
    }
    await using store = await openSessionStore(to);
    expect(await store.session('c').getItems()).toEqual([msg('c1'), msg('c2'), msg('c3')]);
    expect(await (store as never as SessionCatalog).getSessionInfo('a')).toMatchObject({
      itemCount: 2,
      metadata: { team: 'x', tier: 1 },
    });

    const changed = `${JSON.stringify({ sessionId: 'b', metadata: {}, items: [msg('other')] })}\n`;
    expect((await cli(['import', to], changed)).code).toBe(EXIT.failed);
    expect((await cli(['import', to, '--overwrite'], changed)).code).toBe(EXIT.ok);
    expect(await store.session('b').getItems()).toEqual([msg('other')]);
    expect((await cli(['import', to], 'not json\n')).stderr).toContain('line 1 is not JSON');
    const some = await cli(['export', from, '--session', 'a', '--session', 'nobody']);
    expect(lines(some.stdout).map((line) => line.sessionId)).toEqual(['a']);
    expect(some.code).toBe(EXIT.failed);
  });

  it('copy --all walks the source catalog and carries metadata; a second run copies nothing', async () => {
    const from = `memory:all-from-${run}`;
    const to = `memory:all-to-${run}`;
    await seed(from);
    const first = await cli(['copy', from, to, '--all', '--json', '--quiet']);
    expect(first.code).toBe(EXIT.ok);
    expect(JSON.parse(first.stdout).copied).toHaveLength(3);
    const again = await cli(['copy', from, to, '--all', '--json', '--quiet']);
    expect(JSON.parse(again.stdout).copied.every((r: { copied: number }) => r.copied === 0)).toBe(true);
    await using store = await openSessionStore(to);
    expect(await (store as never as SessionCatalog).getSessionInfo('c')).toMatchObject({
      itemCount: 3,
      metadata: { team: 'y' },
    });
    expect((await cli(['copy', from, to, '--all', '--session', 'a'])).code).toBe(EXIT.usage);
  });
});
