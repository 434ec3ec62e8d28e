/**
 * Core on a Workers-style runtime with no Node built-in (issue #16, item 4): core is built as it is
 * published, installed into a temporary folder, bundled for the browser platform with worker.ts
 * (nothing marked external, so any Node built-in fails the build) and run in the `workerd` npm
 * package's runtime. The worker encrypts with `withEncryption` over `InMemorySessionStore`; Node
 * then opens what it stored with the same key, which proves the stored value is real ciphertext.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as bundle, type Metafile, type Plugin } from 'esbuild';
import { build as buildPackage } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentInputItem, createInMemoryStorage, InMemorySession, withEncryption } from '../../src/index.js';
import coreBuild from '../../tsup.config.ts';

/** The `workerd` package (CommonJS, untyped): its binary for this platform, and the newest compatibility date. */
const workerd = createRequire(import.meta.url)('workerd') as { default: string; compatibilityDate: string };

const coreDir = fileURLToPath(new URL('../..', import.meta.url));
const workerSource = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** How long workerd may take to start answering (it takes well under a second). */
const STARTUP_LIMIT_MS = 20_000;
/** How long workerd may take to exit after SIGTERM before it is killed. */
const STOP_LIMIT_MS = 5_000;

const tmp = mkdtempSync(join(tmpdir(), 'sessions-core-edge-'));
const installedCore = join(tmp, 'node_modules', '@sessions', 'core');

/** Builds core with its own tsup config (JavaScript only) into a folder laid out as npm installs it. */
async function installBuiltCore(): Promise<void> {
  const options = Array.isArray(coreBuild) ? coreBuild[0] : coreBuild;
  if (typeof options !== 'object' || options === null) throw new Error('tsup.config.ts: expected one options object');
  const entry = Object.fromEntries(
    Object.entries(options.entry as Record<string, string>).map(([name, path]) => [name, join(coreDir, path)]),
  );
  mkdirSync(installedCore, { recursive: true });
  cpSync(join(coreDir, 'package.json'), join(installedCore, 'package.json'));
  await buildPackage({
    ...options,
    entry,
    outDir: join(installedCore, 'dist'),
    // What the worker loads: ESM, no declarations (types play no part at run time).
    format: ['esm'],
    dts: false,
    sourcemap: false,
    silent: true,
    config: false,
  });
}

/** worker.ts imports core's source for the type checker; the bundle gets the installed package instead. */
const asInstalledPackage: Plugin = {
  name: 'core-as-installed-package',
  setup(build) {
    build.onResolve({ filter: /\/src\/index\.js$/ }, async (args) => {
      if (args.importer !== workerSource) return undefined;
      const resolved = await build.resolve('@sessions/core', { resolveDir: tmp, kind: args.kind });
      return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path };
    });
  },
};

/** `import … from 'node:…'`, `import('node:…')` or `require('node:…')` in bundled code. */
const NODE_BUILTIN_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']node:/;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface WorkerdServer {
  child: ChildProcess;
  url: string;
  startupMs: number;
  output: () => string;
}

/** Starts `workerd serve` on a free 127.0.0.1 port and waits (bounded) until it answers. */
async function startWorkerd(workerFile: string): Promise<WorkerdServer> {
  const port = await freePort();
  const config = join(tmp, 'config.capnp');
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .edgeWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const edgeWorker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "${workerFile}") ],
  compatibilityDate = "${workerd.compatibilityDate}",
);
`,
  );
  const started = performance.now();
  const child = spawn(workerd.default, ['serve', config], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}/`;
  for (;;) {
    if (exited) throw new Error(`workerd exited before it answered:\n${output}`);
    if (performance.now() - started > STARTUP_LIMIT_MS) {
      await stopWorkerd(child);
      throw new Error(`workerd did not answer within ${STARTUP_LIMIT_MS} ms:\n${output}`);
    }
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return { child, url, startupMs: performance.now() - started, output: () => output };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** SIGTERM to the PID we started; SIGKILL if it is still there after STOP_LIMIT_MS. */
async function stopWorkerd(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }, STOP_LIMIT_MS);
  await exit;
  clearTimeout(timer);
}

const message = (content: string) => ({ type: 'message', role: 'user', content });

describe('core in the workerd runtime (no Node built-ins)', () => {
  let bundled: { code: string; metafile: Metafile };
  let server: WorkerdServer | undefined;

  beforeAll(async () => {
    await installBuiltCore();
    const result = await bundle({
      entryPoints: [workerSource],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [asInstalledPackage],
    });
    bundled = { code: result.outputFiles[0]!.text, metafile: result.metafile };
    const workerFile = join(tmp, 'worker.js');
    writeFileSync(workerFile, bundled.code);
    server = await startWorkerd('worker.js');
  }, 60_000);

  afterAll(async () => {
    if (server) await stopWorkerd(server.child);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('core bundles for the browser platform from its published entry, with no Node built-in and nothing unused', () => {
    const inputs = Object.keys(bundled.metafile.inputs);
    // Every input is the worker or the installed package's main entry (chunks included); the
    // `./testing` entry (which uses node:util) is never reached from `.`.
    for (const input of inputs) {
      expect(
        input.endsWith('test/edge/worker.ts') || /node_modules\/@sessions\/core\/dist\/(?!testing\/)/.test(input),
        input,
      ).toBe(true);
    }
    expect(inputs.some((input) => input.includes('node_modules/@sessions/core/dist/index.js'))).toBe(true);
    expect(bundled.code).not.toMatch(NODE_BUILTIN_IMPORT);
    const output = Object.values(bundled.metafile.outputs)[0]!;
    expect(output.imports).toEqual([]);
    // sideEffects: false lets the bundler drop what the worker does not use, such as
    // openSessionStore's import() of backend packages (which a Worker could not resolve).
    expect(bundled.code).not.toMatch(/\bimport\(/);
    expect(bundled.code.length).toBeLessThan(100_000);
  });

  it('withEncryption over InMemorySessionStore adds, reads back and pops inside workerd, with WebCrypto', async () => {
    const key = globalThis.crypto.getRandomValues(new Uint8Array(32));
    const response = await fetch(server!.url, {
      method: 'POST',
      body: JSON.stringify({ keyBase64: Buffer.from(key).toString('base64') }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    expect(response.status, `${text}\n${server!.output()}`).toBe(200);
    const result = JSON.parse(text) as {
      readBack: unknown[];
      popped: unknown;
      afterPop: unknown[];
      stored: Array<Record<string, unknown>>;
      subtleCalls: Record<string, number>;
      runtime: string;
      hasRequire: boolean;
    };

    expect(result.runtime).toBe('Cloudflare-Workers');
    expect(result.hasRequire).toBe(false);
    const items = [message('first secret'), message('second secret'), message('third secret')];
    expect(result.readBack).toEqual(items);
    expect(result.popped).toEqual(items[2]);
    expect(result.afterPop).toEqual(items.slice(0, 2));

    // The runtime's own crypto.subtle did the work: keys derived with HKDF, items sealed and opened.
    expect(result.subtleCalls.deriveBits).toBeGreaterThan(0);
    expect(result.subtleCalls.encrypt).toBeGreaterThanOrEqual(3);
    expect(result.subtleCalls.decrypt).toBeGreaterThanOrEqual(3);

    // What the backend holds is ciphertext: envelopes with no plaintext in them...
    expect(result.stored).toHaveLength(2);
    for (const stored of result.stored) {
      expect(stored).toMatchObject({ type: 'encrypted', v: 1, kid: 'edge-key' });
      expect(Object.keys(stored).sort()).toEqual(['ct', 'iv', 'kid', 'type', 'v']);
    }
    expect(JSON.stringify(result.stored)).not.toContain('secret');
    // ...which Node opens with the same key: workerd's WebCrypto and Node's agree.
    const raw = new InMemorySession({ sessionId: 'user-1', storage: createInMemoryStorage() });
    await raw.addItems(result.stored as unknown as AgentInputItem[]);
    const opened = withEncryption(raw, { keys: [{ id: 'edge-key', key }] });
    expect(await opened.getItems()).toEqual(items.slice(0, 2));
    // And not with another key.
    const wrongKey = withEncryption(raw, { keys: [{ id: 'edge-key', key: new Uint8Array(32).fill(7) }] });
    await expect(wrongKey.getItems()).rejects.toThrow();
  });

  it('workerd started within the bound, and stops by its PID', async () => {
    expect(server!.startupMs).toBeLessThan(STARTUP_LIMIT_MS);
    const { child } = server!;
    await stopWorkerd(child);
    expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
    server = undefined;
  });
});
