/**
 * `sessions studio` of @sessions/cli, run in-process. The CLI is imported from its source (not as
 * a dependency: it depends on this package, optionally), and its `import('@sessions/studio')`
 * resolves to this package's source (vitest.config.ts).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { openSessionStore } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/src/cli.ts';
import { studioCommand } from '../../cli/src/commands/studio.ts';
import { everyVariant, seed } from './fixtures.js';

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

function io() {
  const stdout = capture();
  const stderr = capture();
  const controller = new AbortController();
  return {
    stdout,
    stderr,
    controller,
    io: { stdout: stdout.stream, stderr: stderr.stream, stdin: new PassThrough(), signal: controller.signal },
  };
}

/** Runs `sessions studio …` until its URL is printed; `stop()` is the user's Ctrl-C. */
async function startCli(args: string[]) {
  const streams = io();
  const exit = runCli(['studio', ...args], streams.io);
  const deadline = Date.now() + 30_000;
  while (!streams.stdout.text().includes('\n')) {
    const early = await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 50, 'running'))]);
    if (early !== 'running') throw new Error(`exited ${String(early)}: ${streams.stderr.text()}`);
    if (Date.now() > deadline) throw new Error('no URL within 30 s');
  }
  const url = new URL(/^Studio: (\S+)$/m.exec(streams.stdout.text())![1]!);
  const token = url.searchParams.get('token')!;
  const call = (path: string, init: RequestInit = {}) =>
    fetch(new URL(path, url.origin), { ...init, headers: { Authorization: `Bearer ${token}`, ...init.headers } });
  return {
    ...streams,
    url,
    call,
    stop: async () => {
      streams.controller.abort();
      return exit;
    },
  };
}

describe('sessions studio', () => {
  it('prints exactly one line with the URL, serves the store read-only, stops on Ctrl-C with exit 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'studio-cli-'));
    try {
      const url = `file:${join(dir, 'chat.db')}`;
      const store = await openSessionStore(url);
      await seed(store, { trip: everyVariant() });
      await store.close();
      const cli = await startCli([url, '--port', '0']);
      expect(cli.stdout.text()).toMatch(/^Studio: http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}\n$/);
      expect(cli.stderr.text()).toContain('read-only; Ctrl-C to stop');
      expect(await (await cli.call('/api/store')).json()).toEqual({ label: url, allowWrites: false });
      const list = (await (await cli.call('/api/sessions')).json()) as { sessions: Array<{ sessionId: string }> };
      expect(list.sessions.map((s) => s.sessionId)).toEqual(['trip']);
      const fork = await cli.call('/api/fork', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ id: 'trip', turn: 1 }),
      });
      expect(fork.status).toBe(403);
      expect(await fetch(cli.url.origin).then((r) => r.status)).toBe(401);
      expect(await cli.stop()).toBe(0);
      await expect(fetch(cli.url.origin)).rejects.toThrow();
      expect(cli.stdout.text().split('\n')).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--allow-writes: forks through the API into the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'studio-cli-'));
    try {
      const url = `file:${join(dir, 'chat.db')}`;
      const store = await openSessionStore(url);
      await seed(store, { trip: everyVariant() });
      const cli = await startCli([url, '--allow-writes', '--host', '127.0.0.1']);
      const fork = await cli.call('/api/fork', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ id: 'trip', turn: 1 }),
      });
      expect(await fork.json()).toEqual({ sessionId: 'trip:fork:1', itemCount: 7 });
      expect(await cli.stop()).toBe(0);
      expect(await store.session('trip:fork:1').getItems()).toEqual(everyVariant().slice(0, 7));
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('creates no database for a mistyped read-only URL; rejects bad flags (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'studio-cli-'));
    try {
      // Read-only, a missing file reads as an empty store: nothing listed, nothing created.
      const missing = join(dir, 'typo.db');
      const cli = await startCli([`file:${missing}`]);
      expect(await (await cli.call('/api/sessions')).json()).toEqual({ sessions: [] });
      expect(await cli.stop()).toBe(0);
      expect(existsSync(missing)).toBe(false);
      expect(await runCli(['studio', 'memory:', '--port', 'x'], io().io)).toBe(2);
      expect(await runCli(['studio'], io().io)).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what to install when @sessions/studio is missing', async () => {
    const streams = io();
    const missing = Object.assign(new Error("Cannot find package '@sessions/studio' imported from /app/cli.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const code = await studioCommand(streams.io, { url: 'memory:', port: 0, allowWrites: false, timeoutMs: 1000 }, () =>
      Promise.reject(missing),
    );
    expect(code).toBe(2);
    expect(streams.stderr.text()).toBe('sessions: the studio is a separate package: npm i @sessions/studio\n');
    expect(streams.stdout.text()).toBe('');
  });
});
