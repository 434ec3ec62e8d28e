/**
 * Staged writes, for a write too large for one transaction (split from `session.ts`): the
 * session hands in what it reads and commits through a {@link StagedContext}.
 */
import type { TransactionVerdict } from '@sessions/core';
import type { ChainItem, Deletion, Snapshot } from './chain.js';
import { matchesSuffix } from './chain.js';
import { type CommitPort, type CommitStep, commitWithRetry, decided } from './commit.js';
import { assertBudget } from './deadline.js';
import { isLive, type Meta } from './layout.js';
import { headerRow, linkable, planStage, type StagePlan, stagedRowCount, type WriteIntent } from './plan.js';
import type { SessionRequests } from './requests.js';
import { backoff, sleep } from './retry.js';
import type { OperationRecord } from './verdict.js';

/** Large batches are staged again at most this many times when concurrent writes keep winning. */
const MAX_STAGE_ATTEMPTS = 5;
/** What a staged link returns when its rows no longer fit on the history: stage them again. */
const RESTAGE = Symbol('restage');

/** A write too large for one transaction, staged (see `#staged` below). */
export interface StagedWrite {
  /** `append`: on top of the history; `replaceSuffix`: instead of `expected`; `replaceAll`: instead of all. */
  mode: 'append' | 'replaceSuffix' | 'replaceAll';
  texts: string[];
  operation: OperationRecord | undefined;
  expected: string[];
}

/** Items of the history `base` describes at `now` (none when it is gone or expired). */
export function countOf(base: Meta | undefined, now: number): number {
  return isLive(base, now) ? (base.itemCount ?? 0) : 0;
}

/** What a staged write needs of its session. */
export interface StagedContext {
  requests: SessionRequests;
  port: CommitPort;
  /** Size of a row's key, for the transaction byte budget. */
  keyBytes: number;
  ttlSeconds(): number | undefined;
  remember(meta: Meta | undefined): void;
  snapshot(limit: number | undefined): Promise<Snapshot>;
  upgraded(meta: Meta | undefined): Promise<boolean>;
  mismatch(snapshot: Snapshot, operation: OperationRecord): Promise<TransactionVerdict | undefined>;
  replaceSuffix(expected: string[], replacement: string[], operation: OperationRecord): Promise<TransactionVerdict>;
  knownMeta(): Promise<Meta | undefined>;
  countedMeta(): Promise<Meta | undefined>;
  commit<T>(result: T, intent: Omit<WriteIntent, 'ttlSeconds'>, cleanup?: () => Promise<void>): CommitStep<T>;
}

/**
 * Writes that do not fit in one transaction (more than ~98 rows, or over 4 MB): reserve a
 * range of sequence numbers with an atomic `ADD`, write the rows there (invisible: nothing
 * links to them yet), then link them into the chain with one conditional transaction on
 * the metadata row. A crash before that last step leaves only unreachable rows. When
 * concurrent writes keep winning, the rows are deleted and staged again, a few times.
 */
export async function stageWrite(write: StagedWrite, ctx: StagedContext): Promise<TransactionVerdict> {
  const count = stagedRowCount(write.texts, write.mode !== 'replaceAll', ctx.keyBytes);
  for (let attempt = 0; ; attempt++) {
    const reserved = await ctx.requests.reserve(count);
    ctx.remember(reserved);
    const stage = planStage(write.texts, count, write.mode !== 'replaceAll', reserved, {
      now: Date.now(),
      ttlSeconds: ctx.ttlSeconds(),
      keyBytes: ctx.keyBytes,
    });
    await ctx.requests.putRows(stage.generation, stage.layout.rows, stage.rowExpiresAt);
    const staged = stage.layout.rows.map((row) => row.seq);
    const verdict = await commitWithRetry<TransactionVerdict | typeof RESTAGE>(ctx.port, {
      plan: () => planLink(ctx, write, stage, staged),
      recorded: async (verdict) => {
        await ctx.requests.deleteRows(staged);
        return verdict;
      },
      exhausted: () => RESTAGE,
      backoff: { baseMs: 10, capMs: 1_000 },
    });
    if (verdict !== RESTAGE) return verdict;
    await ctx.requests.deleteRows(staged);
    if (attempt + 1 >= MAX_STAGE_ATTEMPTS) {
      throw new Error(`concurrent writes to session kept invalidating a batch of ${count} rows; nothing was written`);
    }
    assertBudget();
    await sleep(backoff(attempt, 50));
  }
}

/** One attempt to link staged rows into the chain. */
async function planLink(
  ctx: StagedContext,
  write: StagedWrite,
  stage: StagePlan,
  staged: number[],
): Promise<CommitStep<TransactionVerdict | typeof RESTAGE>> {
  const { mode, operation, expected } = write;
  let base: Meta | undefined;
  let kept: number;
  let deletes: Deletion[] = [];
  if (mode === 'replaceSuffix') {
    const snapshot = await ctx.snapshot(expected.length);
    if (await ctx.upgraded(snapshot.meta)) return { kind: 'again' };
    if (!matchesSuffix(snapshot.items, expected)) {
      await ctx.requests.deleteRows(staged);
      const verdict = await ctx.mismatch(snapshot, operation as OperationRecord);
      // The history changed meanwhile: the whole transaction is decided again.
      return decided(verdict ?? (await ctx.replaceSuffix(expected, write.texts, operation as OperationRecord)));
    }
    base = snapshot.meta;
    kept = (snapshot.items[expected.length - 1] as ChainItem).prev;
    deletes = snapshot.items.slice(0, expected.length).flatMap((item) => item.rows);
  } else {
    base = mode === 'replaceAll' ? await ctx.knownMeta() : await ctx.countedMeta();
    kept = isLive(base, Date.now()) ? base.top : -1;
  }
  const now = Date.now();
  const whole = mode === 'replaceAll';
  const itemCount = whole
    ? write.texts.length
    : countOf(base, now) - (mode === 'replaceSuffix' ? expected.length : 0) + write.texts.length;
  if (!linkable(base, stage, kept, whole, now)) return decided(RESTAGE);
  return ctx.commit(
    'applied',
    {
      now,
      base,
      requireLive: isLive(base, now),
      generation: stage.generation,
      top: stage.layout.top,
      nextSeq: Math.max(base?.nextSeq ?? 0, stage.start + stage.count),
      kept: whole ? -1 : kept,
      puts: whole ? [] : [headerRow(stage, kept, ctx.keyBytes)],
      deletes,
      operation,
      writesRows: true,
      itemCount,
    },
    whole ? () => ctx.requests.deleteDeadBelow(stage.start) : undefined,
  );
}
