// The server as it runs in production: a child process on a free port, called over HTTP.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = mkdtempSync(join(tmpdir(), 'http-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  base: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts the server with no API key on a free port and waits until it listens. */
async function start(sessionsUrl: string): Promise<Running> {
  const { OPENAI_API_KEY: _key, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', tsx, main], {
    cwd: dir,
    env: { ...env, SESSIONS_URL: sessionsUrl, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /chat API on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    exited.then((code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return { base, child, output: () => output, exited };
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(
    base + path,
    body === undefined
      ? { method }
      : {
          method,
          headers: { 'content-type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        },
  );
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/** A port nothing listens on: bound once by the OS's choice, then released. */
async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const text = (item: { content: string | { text?: string }[] }) =>
  typeof item.content === 'string' ? item.content : item.content.map((part) => part.text ?? '').join('');

const stores = [
  { name: 'sqlite', url: () => `file:${join(dir, 'http-chat.db')}` },
  { name: 'redis', url: () => inject('redisUrl') },
];

for (const store of stores) {
  describe(`http-server on ${store.name}`, () => {
    let server: Running;
    beforeAll(async () => {
      server = await start(store.url());
    });
    afterAll(async () => {
      server?.child.kill('SIGTERM');
      await server?.exited;
    });
    const path = (label: string) => `/sessions/${label}-${Math.random().toString(36).slice(2, 10)}`;

    it('answers from the stored history, lists it, limits it and clears it', async () => {
      const session = path('chat');
      expect(await call(server.base, 'POST', `${session}/messages`, { message: 'My name is Ada.' })).toEqual({
        status: 200,
        json: { reply: 'Nice to meet you, Ada.' },
      });
      expect(await call(server.base, 'POST', `${session}/messages`, { message: 'What is my name?' })).toEqual({
        status: 200,
        json: { reply: 'Your name is Ada.' },
      });

      const all = await call(server.base, 'GET', `${session}/messages`);
      expect(all.status).toBe(200);
      expect(all.json.items.map((item: { role: string }) => item.role)).toEqual([
        'user',
        'assistant',
        'user',
        'assistant',
      ]);
      expect(all.json.items.map(text)).toEqual([
        'My name is Ada.',
        'Nice to meet you, Ada.',
        'What is my name?',
        'Your name is Ada.',
      ]);
      const last = await call(server.base, 'GET', `${session}/messages?limit=1`);
      expect(last.json.items.map(text)).toEqual(['Your name is Ada.']);

      expect(await call(server.base, 'DELETE', session)).toEqual({ status: 204, json: undefined });
      expect((await call(server.base, 'GET', `${session}/messages`)).json).toEqual({ items: [] });
    });

    it('lists sessions by metadata, pages them, labels them with PATCH and deletes them', async () => {
      const tag = Math.random().toString(36).slice(2, 10);
      const sessions = [path('a'), path('b'), path('c')];
      for (const session of sessions) {
        await call(server.base, 'POST', `${session}/messages`, { message: 'My name is Ada.' });
        const patched = await call(server.base, 'PATCH', session, { metadata: { tag, plan: 'pro' } });
        expect(patched).toEqual({ status: 200, json: { metadata: { tag, plan: 'pro' } } });
      }
      expect((await call(server.base, 'PATCH', sessions[0]!, { metadata: { plan: null } })).json).toEqual({
        metadata: { tag },
      });
      const info = await call(server.base, 'GET', sessions[0]!);
      expect(info.json).toMatchObject({ itemCount: 2, metadata: { tag } });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await call(
          server.base,
          'GET',
          `/sessions?limit=1&metadata.tag=${tag}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        seen.push(...page.json.sessions.map((s: { sessionId: string }) => `/sessions/${s.sessionId}`));
        cursor = page.json.nextCursor;
      } while (cursor);
      // Newest write first: the second PATCH moved the first session to the front.
      expect(seen).toEqual([sessions[0], sessions[2], sessions[1]]);
      expect((await call(server.base, 'GET', `/sessions?limit=0`)).status).toBe(400);
      expect((await call(server.base, 'GET', `/sessions?cursor=nonsense`)).status).toBe(400);
      expect((await call(server.base, 'PATCH', sessions[1]!, { metadata: [] })).status).toBe(400);
      expect((await call(server.base, 'DELETE', sessions[1]!)).status).toBe(204);
      expect((await call(server.base, 'GET', sessions[1]!)).status).toBe(404);
    });

    it('refuses bad input with 400 and a JSON error, and unknown routes with 404/405', async () => {
      const messages = `${path('bad')}/messages`;
      for (const body of ['{"message": ', '[]', 'null', {}, { message: '' }, { message: 42 }]) {
        const response = await call(server.base, 'POST', messages, body);
        expect(response.status).toBe(400);
        expect(response.json.error).toEqual(expect.any(String));
      }
      // The store's own validation (SessionValidationError) is a 400 too.
      for (const limit of ['-1', '1.5', 'abc', '']) {
        expect((await call(server.base, 'GET', `${messages}?limit=${limit}`)).status).toBe(400);
      }
      expect((await call(server.base, 'GET', `/sessions/${'x'.repeat(600)}/messages`)).status).toBe(400);
      expect((await call(server.base, 'GET', '/sessions/%E0%A4%A/messages')).status).toBe(400);
      expect((await call(server.base, 'GET', '/nowhere')).status).toBe(404);
      expect((await call(server.base, 'PUT', messages)).status).toBe(405);
      expect((await call(server.base, 'GET', path('x'))).status).toBe(404);
      expect((await call(server.base, 'PUT', path('x'))).status).toBe(405);
      expect((await call(server.base, 'POST', '/sessions')).status).toBe(405);
      // Nothing of the refused requests was stored.
      expect((await call(server.base, 'GET', messages)).json).toEqual({ items: [] });
    });

    it('loses nothing when many requests post to one session at once', async () => {
      const session = path('concurrent');
      const messages = Array.from({ length: 12 }, (_, index) => `message ${index}`);
      const replies = await Promise.all(
        messages.map((message) => call(server.base, 'POST', `${session}/messages`, { message })),
      );
      expect(replies.every((reply) => reply.status === 200)).toBe(true);
      const items = (await call(server.base, 'GET', `${session}/messages`)).json.items;
      expect(items).toHaveLength(24);
      // Each turn is stored as one batch: every question is directly followed by its own answer.
      for (let index = 0; index < items.length; index += 2) {
        expect(items[index].role).toBe('user');
        expect(text(items[index + 1])).toContain(`You said: "${text(items[index])}"`);
      }
      expect(
        items
          .filter((_: unknown, index: number) => index % 2 === 0)
          .map(text)
          .sort(),
      ).toEqual([...messages].sort());
    });
  });
}

describe('http-server lifecycle', () => {
  it('on SIGTERM finishes the request in flight, closes the store and exits 0', async () => {
    const url = `file:${join(dir, 'lifecycle.db')}`;
    const server = await start(url);
    const { hostname, port } = new URL(server.base);
    const body = JSON.stringify({ message: 'My name is Ada.' });
    // A request whose body is still being sent when the signal arrives.
    const inFlight = request({
      hostname,
      port,
      method: 'POST',
      path: '/sessions/lifecycle/messages',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const response = new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      inFlight.once('error', reject).once('response', async (res) => {
        let text = '';
        for await (const chunk of res) text += chunk;
        resolve({ status: res.statusCode, body: text });
      });
    });
    inFlight.write(body.slice(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill('SIGTERM');
    await expect.poll(() => server.output()).toContain('SIGTERM: finishing in-flight requests');
    // New connections are refused while the old one is still served.
    await expect(fetch(`${server.base}/sessions/late/messages`)).rejects.toThrow();
    inFlight.end(body.slice(5));

    expect(await response).toEqual({ status: 200, body: JSON.stringify({ reply: 'Nice to meet you, Ada.' }) });
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('store closed');

    // The turn answered during shutdown was stored completely.
    const again = await start(url);
    const history = await call(again.base, 'GET', '/sessions/lifecycle/messages');
    expect(history.json.items.map(text)).toEqual(['My name is Ada.', 'Nice to meet you, Ada.']);
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
  });

  it('answers 503 when the database is unreachable', async () => {
    // Nothing listens on this port; the PostgreSQL driver connects lazily, so the server starts.
    const server = await start(`postgres://nobody@127.0.0.1:${await unusedPort()}/nothing`);
    const response = await call(server.base, 'POST', '/sessions/down/messages', { message: 'hello' });
    expect(response).toEqual({ status: 503, json: { error: 'session store unavailable' } });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
