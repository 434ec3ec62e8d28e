import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1, as reported by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the server process exited before listening on port ${port}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export interface ManagedProcess {
  child: ChildProcess;
  /** Everything the process printed so far (for error messages). */
  output(): string;
  alive(): boolean;
  /** The stop signal (SIGTERM by default), then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user (needed for PostgreSQL, which refuses to run as root). */
  uid?: number;
  gid?: number;
  /** The signal for a clean, fast stop (PostgreSQL: SIGINT; its SIGTERM waits for clients). */
  stopSignal?: NodeJS.Signals;
}

/** Spawns a server we own; it is stopped by its PID only, never by name. */
export function spawnServer(command: string, args: string[], options: SpawnOptions = {}): ManagedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.once('error', (error) => {
    log += `\n${error.message}`;
    exited = true;
  });
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  // A test run that dies must not leave servers behind.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  return {
    child,
    output: () => log,
    alive: () => !exited && child.exitCode === null,
    async stop(graceMs = 10_000) {
      process.removeListener('exit', reap);
      if (exited || child.exitCode !== null) return;
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** A private temporary directory, optionally handed to another user. */
export function makeTempDir(label: string, owner?: { uid: number; gid: number }): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `sessions-${label}-`));
  if (owner) chownSync(path, owner.uid, owner.gid);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
