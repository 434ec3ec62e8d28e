/**
 * The remote path inside the workerd runtime (Cloudflare Workers' open-source runtime, from the
 * `workerd` npm package): the store, bundled for the browser platform, opens @libsql/client's Web
 * client itself and talks HTTP / WebSocket through workerd's own `fetch` and `WebSocket`. No
 * libSQL server runs in these tests (sqld is in no package registry), so the servers below are
 * stand-ins for the failures an edge deployment meets; each must map onto the error kind the
 * README promises, as on Node (issue #16: connection failures are `SessionConnectionError`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

/** The `workerd` package (CommonJS, untyped): its binary for this platform, and the newest compatibility date. */
const workerd = createRequire(import.meta.url)('workerd') as { default: string; compatibilityDate: string };
const workerSource = fileURLToPath(new URL('./edge/worker.ts', import.meta.url));
/** How long workerd may take to start answering (it takes well under a second). */
const STARTUP_LIMIT_MS = 20_000;
/** How long workerd may take to exit after SIGTERM before it is killed. */
const STOP_LIMIT_MS = 5_000;

const tmp = mkdtempSync(join(tmpdir(), 'sessions-sqlite-workerd-'));

interface Outcome {
  ok: boolean;
  name?: string;
  code?: string;
  retryable?: boolean;
  message?: string;
  ms: number;
}

/** Listens on 127.0.0.1 (port 0: a free one); the server and every socket it accepted end with the test. */
async function listen(server: Server): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let child: ChildProcess | undefined;
let workerUrl = '';
let startupMs = 0;
let output = '';

/** SIGTERM to the PID we started; SIGKILL if it is still there after STOP_LIMIT_MS. */
async function stopWorkerd(process_: ChildProcess): Promise<void> {
  if (process_.exitCode !== null || process_.signalCode !== null || process_.pid === undefined) return;
  const exited = new Promise<void>((resolve) => process_.once('exit', () => resolve()));
  process.kill(process_.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (process_.exitCode === null && process_.signalCode === null) process.kill(process_.pid!, 'SIGKILL');
  }, STOP_LIMIT_MS);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  const bundled = await build({
    entryPoints: [workerSource],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  writeFileSync(join(tmp, 'worker.js'), bundled.outputFiles[0]!.text);
  const port = await closedPort();
  // The worker may reach 127.0.0.1 (the stand-ins); workerd's default outbound allows public addresses only.
  writeFileSync(
    join(tmp, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .edgeWorker),
    (name = "loopback", network = (allow = ["local", "private"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const edgeWorker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "${workerd.compatibilityDate}",
  globalOutbound = "loopback",
);
`,
  );
  const started = performance.now();
  const spawned = spawn(workerd.default, ['serve', 'config.capnp'], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  child = spawned;
  spawned.stdout!.on('data', (chunk) => (output += chunk));
  spawned.stderr!.on('data', (chunk) => (output += chunk));
  workerUrl = `http://127.0.0.1:${port}/`;
  for (;;) {
    if (spawned.exitCode !== null || spawned.signalCode !== null) {
      throw new Error(`workerd exited before it answered:\n${output}`);
    }
    if (performance.now() - started > STARTUP_LIMIT_MS) {
      await stopWorkerd(spawned);
      throw new Error(`workerd did not answer within ${STARTUP_LIMIT_MS} ms:\n${output}`);
    }
    try {
      await fetch(workerUrl, { signal: AbortSignal.timeout(1_000) });
      startupMs = performance.now() - started;
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}, 60_000);

afterAll(async () => {
  if (child) await stopWorkerd(child);
  rmSync(tmp, { recursive: true, force: true });
});

/** A read and a write through a store on `url`, inside workerd. */
async function inWorkerd(url: string, timeoutMs = 5_000): Promise<{ read: Outcome; write: Outcome }> {
  const response = await fetch(workerUrl, {
    method: 'POST',
    body: JSON.stringify({ url, timeoutMs }),
    signal: AbortSignal.timeout(timeoutMs * 2 + 5_000),
  });
  const text = await response.text();
  expect(response.status, `${text}\n${output}`).toBe(200);
  return JSON.parse(text) as { read: Outcome; write: Outcome };
}

describe('@sessions/sqlite inside workerd (HTTP and WebSocket through the Web client)', () => {
  it('workerd started within the bound', () => {
    expect(startupMs).toBeGreaterThan(0);
    expect(startupMs).toBeLessThan(STARTUP_LIMIT_MS);
  });

  it('a port where nothing listens is a SessionConnectionError over http:, libsql: and ws:', async () => {
    const port = await closedPort();
    for (const url of [`http://127.0.0.1:${port}`, `libsql://127.0.0.1:${port}?tls=0`, `ws://127.0.0.1:${port}`]) {
      const { read, write } = await inWorkerd(url);
      for (const outcome of [read, write]) {
        expect(outcome, url).toMatchObject({ ok: false, name: 'SessionConnectionError', code: 'CONNECTION' });
        expect(outcome.ms, url).toBeLessThan(5_000);
      }
    }
  });

  it('a server that resets every connection is a SessionConnectionError', async () => {
    const port = await listen(createTcpServer((socket) => socket.resetAndDestroy()));
    const { read, write } = await inWorkerd(`http://127.0.0.1:${port}`);
    expect(read).toMatchObject({ ok: false, name: 'SessionConnectionError', code: 'CONNECTION' });
    expect(write).toMatchObject({ ok: false, name: 'SessionConnectionError', code: 'CONNECTION' });
  });

  it('HTTP 401 from the server (a refused token) is a SessionAuthenticationError, not retryable', async () => {
    const port = await listen(
      createHttpServer((request, response) => {
        request.resume();
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'Authentication failed: The JWT is invalid' }));
      }),
    );
    const { read, write } = await inWorkerd(`http://127.0.0.1:${port}`);
    for (const outcome of [read, write]) {
      expect(outcome).toMatchObject({ ok: false, name: 'SessionAuthenticationError', retryable: false });
    }
  });

  it('a server that never answers ends each call at timeoutMs with SessionTimeoutError', async () => {
    const port = await listen(createTcpServer(() => {}));
    const { read, write } = await inWorkerd(`http://127.0.0.1:${port}`, 1_000);
    for (const outcome of [read, write]) {
      expect(outcome).toMatchObject({ ok: false, name: 'SessionTimeoutError', code: 'TIMEOUT', retryable: true });
      expect(outcome.ms).toBeGreaterThanOrEqual(900);
      expect(outcome.ms).toBeLessThan(3_000);
    }
  });
});
