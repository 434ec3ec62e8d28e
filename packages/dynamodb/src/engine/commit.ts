/**
 * The one commit-retry loop every write path goes through. A path plans one attempt from what
 * it reads; the loop stamps kept rows with the new TTL, commits the plan with one conditional
 * transaction on the metadata row, and on a lost race remembers what won, backs off and asks the
 * path to plan again. I/O comes through a {@link CommitPort}, so the loop runs without a server.
 */
import { budgetExpired } from './deadline.js';
import type { Meta, MetaState } from './layout.js';
import { toMeta } from './layout.js';
import type { PlannedWrite, TransactionPlan } from './plan.js';
import { backoff, sleep } from './retry.js';
import type { RecordedVerdict, TransactionOutcome } from './verdict.js';

/** Lost races a write survives before it gives up with nothing written. */
export const MAX_WRITE_ATTEMPTS = 100;

export interface CommitPort {
  /** Sends the plan as one `TransactWriteItems`. */
  transact(plan: TransactionPlan): Promise<TransactionOutcome>;
  /** Stamps the rows of the history up to `kept` with the TTL of `state` (before the commit). */
  stampRows(state: MetaState, kept: number): Promise<void>;
  /** Deletes item rows that are already off the chain. */
  deleteRows(seqs: number[]): Promise<void>;
  /** The metadata this handle now knows to be current (undefined: no metadata row). */
  remember(meta: Meta | undefined): void;
  pause?(ms: number): Promise<void>;
  /** True once the call's deadline has passed: no further attempt (default: the call's budget). */
  expired?(): boolean;
}

/** What a path decided for one attempt. */
export type CommitStep<T> =
  /** Commit this; `result` is what the path returns once it is committed. */
  | (PlannedWrite & { kind: 'write'; result: T; cleanup?: () => Promise<void> })
  /** Nothing (more) to commit here: return `value`. */
  | { kind: 'done'; value: T }
  /** What the path read changed under it: plan again at once. */
  | { kind: 'again' };

/** A step that commits `planned` and then returns `result` (after `cleanup`, best effort). */
export function commitStep<T>(result: T, planned: PlannedWrite, cleanup?: () => Promise<void>): CommitStep<T> {
  return { kind: 'write', ...planned, result, ...(cleanup ? { cleanup } : {}) };
}

/** A step that returns `value` without committing anything (more). */
export function decided<T>(value: T): CommitStep<T> {
  return { kind: 'done', value };
}

export interface WritePath<T> {
  plan(attempt: number): Promise<CommitStep<T>>;
  /** The plan's operation id was recorded before (only for paths whose plans carry one). */
  recorded?(verdict: RecordedVerdict): Promise<T>;
  /** Every attempt lost its race. Default: an error, nothing written. */
  exhausted?(): T;
  /** Pause between lost races: full jitter over min(capMs, baseMs · 2^attempt). */
  backoff?: { baseMs: number; capMs: number };
  maxAttempts?: number;
}

/**
 * Runs `path` until it commits or decides. After a commit nothing may fail the write: it is
 * stored, and a caller told otherwise would retry it (an `addItems` twice). So deleting the
 * overflow rows and the path's cleanup are best effort (rows left over are unreachable and go
 * with the next `clearSession()` or with DynamoDB's TTL).
 */
export async function commitWithRetry<T>(port: CommitPort, path: WritePath<T>): Promise<T> {
  const pause = port.pause ?? sleep;
  const expired = port.expired ?? budgetExpired;
  const maxAttempts = path.maxAttempts ?? MAX_WRITE_ATTEMPTS;
  const { baseMs, capMs } = path.backoff ?? { baseMs: 5, capMs: 200 };
  for (let attempt = 0; ; attempt++) {
    const step = await path.plan(attempt);
    if (step.kind === 'done') return step.value;
    if (step.kind === 'again') {
      if (expired()) throw deadlinePassed(attempt);
      continue;
    }
    // The kept rows get the new TTL first, so a commit never promises an expiry they would not
    // outlive; a failure here fails the write with nothing committed.
    if (step.stampUpTo !== undefined && step.stampUpTo >= 0) await port.stampRows(step.plan.next, step.stampUpTo);
    const outcome = await port.transact(step.plan);
    if (outcome.kind === 'committed') {
      port.remember(toMeta(step.plan.next));
      if (outcome.overflow.length > 0) await bestEffort(() => port.deleteRows(outcome.overflow));
      if (step.cleanup) await bestEffort(step.cleanup);
      return step.result;
    }
    if (outcome.kind === 'recorded') {
      if (!path.recorded) throw new Error('a write without an operation id met a recorded operation id');
      return path.recorded(outcome.verdict);
    }
    if (outcome.kind === 'meta-changed') port.remember(outcome.meta);
    if (attempt + 1 >= maxAttempts) {
      if (path.exhausted) return path.exhausted();
      throw new Error(`the session changed on each of ${maxAttempts} attempts; nothing was written`);
    }
    if (expired()) throw deadlinePassed(attempt);
    await pause(backoff(attempt, baseMs, capMs));
    if (expired()) throw deadlinePassed(attempt);
  }
}

/** Lost races until the call's deadline passed: this attempt wrote nothing, and no other is made. */
function deadlinePassed(attempt: number): Error {
  return Object.assign(new Error(`the deadline passed after ${attempt + 1} attempts; nothing more was tried`), {
    name: 'TimeoutError',
  });
}

/** Runs cleanup whose failure must not fail the operation that committed before it. */
export async function bestEffort(cleanup: () => Promise<void>): Promise<void> {
  try {
    await cleanup();
  } catch {
    // The rows are unreachable already; they only take space until cleared or expired.
  }
}
