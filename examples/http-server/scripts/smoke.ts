// `npm run smoke`: starts the server (src/main.ts) on a free 127.0.0.1 port with a temporary SQLite
// file and the offline model (no API key, no network), has a two-turn conversation over HTTP, checks
// the answers, then stops it with SIGTERM. Exits 0 only if every step did what it should.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'http-server-smoke-'));
const store = `file:${join(dir, 'smoke.db')}`;
const started = Date.now();

// Without OPENAI_API_KEY the example uses its offline model, even where a key is set.
const { OPENAI_API_KEY: _key, ...env } = process.env;
// process.execArgv carries tsx's loader into the server process.
const server = spawn(process.execPath, [...process.execArgv, main], {
  env: { ...env, SESSIONS_URL: store, HOST: '127.0.0.1', PORT: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const exited = new Promise<number | null>((resolve) => server.once('close', resolve));
let output = '';
server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
  output += chunk;
  process.stdout.write(chunk);
});
const timer = setTimeout(() => server.kill('SIGKILL'), 60_000); // never hang, whatever goes wrong

try {
  const base = await new Promise<string>((resolve, reject) => {
    server.stdout.on('data', () => {
      const match = /chat API on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    exited.then((code) => reject(new Error(`the server exited with code ${code} before listening`)));
  });

  const path = `/sessions/smoke-${process.pid}/messages`;
  const ask = async (message: string) => {
    const response = await fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message }),
    });
    const body = await response.text();
    console.log(`POST ${path} ${JSON.stringify({ message })} -> ${response.status} ${body}`);
    if (response.status !== 200) throw new Error(`POST answered ${response.status}: ${body}`);
    return (JSON.parse(body) as { reply: string }).reply;
  };
  const first = await ask('My name is Ada.');
  if (first !== 'Nice to meet you, Ada.') throw new Error(`unexpected first reply ${JSON.stringify(first)}`);
  // The second answer needs the first turn, which only the store can have given back.
  const second = await ask('What is my name?');
  if (second !== 'Your name is Ada.') throw new Error(`unexpected second reply ${JSON.stringify(second)}`);

  server.kill('SIGTERM');
  const code = await exited;
  if (code !== 0 || !output.includes('store closed')) {
    throw new Error(`on SIGTERM the server exited with code ${code} without closing its store`);
  }
  console.log(
    `\nsmoke ok on Node ${process.version}: the server answered "Your name is Ada." from ${store} and stopped (${Date.now() - started} ms)`,
  );
} catch (error) {
  console.error(`\nsmoke FAILED: ${(error as Error).message}`);
  server.kill('SIGKILL');
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
