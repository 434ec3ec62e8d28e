// Child processes driving the BUILT package (test/children/worker.mjs), as separate programs
// would: shared by the multiprocess and fault tests.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const workerPath = fileURLToPath(new URL('./children/worker.mjs', import.meta.url));

export { ensureBuilt } from './build.js';

export interface Task {
  kind: 'append' | 'pop' | 'first-use' | 'write-history' | 'hold-lock';
  url: string;
  prefix: string;
  sessionId?: string;
  migrateFirst?: boolean;
  exitWithoutClose?: boolean;
  [key: string]: unknown;
}

export interface Worker {
  child: ChildProcess;
  result: Promise<unknown>;
  exited: Promise<number | null>;
}

function nextMessage(child: ChildProcess): Promise<{ type: string; result?: unknown; error?: string }> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`worker exited early with code ${code}`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as { type: string; result?: unknown; error?: string });
    });
  });
}

/** Starts one child per task, waits until all are ready, then releases them at once. */
export async function runWorkers(tasks: Task[]): Promise<Worker[]> {
  const children = tasks.map(() =>
    fork(workerPath, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const exited = children.map((child) => new Promise<number | null>((resolve) => child.once('exit', resolve)));
  const ready = children.map((child, i) => {
    const message = nextMessage(child);
    child.send(tasks[i]!);
    return message;
  });
  for (const message of await Promise.all(ready)) {
    if (message.type !== 'ready') throw new Error(`worker failed before start: ${message.error}`);
  }
  const results = children.map(async (child) => {
    const message = nextMessage(child);
    child.send({ type: 'go' });
    const answer = await message;
    if (answer.type !== 'done') throw new Error(`worker failed: ${answer.error}`);
    return answer.result;
  });
  return children.map((child, i) => ({ child, result: results[i]!, exited: exited[i]! }));
}

export async function allResults(workers: Worker[]): Promise<unknown[]> {
  const results = await Promise.all(workers.map((w) => w.result));
  const codes = await Promise.all(workers.map((w) => w.exited));
  expect(codes.every((code) => code === 0)).toBe(true);
  return results;
}
