/**
 * Concurrency: `sessions` sessions × `writers` concurrent writers each, every writer appending
 * `rounds` batches of `batchSize` tagged items as fast as it can. Throughput is items stored per
 * second of wall time. Then every session is read back and checked: every item of every call that
 * succeeded is there exactly once (zero lost, zero duplicated), each batch is contiguous and in
 * order, and each writer's batches appear in the order it wrote them.
 */
import { makeItem, tagOf } from './items.ts';
import type { Subject } from './subject.ts';
import { describeError } from './timing.ts';

export interface ConcurrencyOptions {
  sessions: number;
  writers: number;
  rounds: number;
  batchSize: number;
  /**
   * Writers start no new call after this long (slow servers such as DynamoDB Local would take
   * minutes for every round); items/s and the zero-loss check cover the calls that were made.
   */
  deadlineMs: number;
}

export interface ConcurrencyResult {
  sessions: number;
  writersPerSession: number;
  batchSize: number;
  calls: number;
  /** Calls not started because the deadline had passed. */
  skippedCalls: number;
  failedCalls: number;
  /** Items of successful calls. */
  itemsWritten: number;
  seconds: number;
  itemsPerSec: number;
  /** Items of successful calls that are not in the history. */
  lost: number;
  /** Items found more than once. */
  duplicated: number;
  /** Batches whose items are not adjacent and in order (the store interleaved two writers). */
  brokenBatches: number;
  /** Writers whose batches are not in the order they were written. */
  reorderedWriters: number;
  firstError?: string;
}

export type ConcurrencyOutcome = { result: ConcurrencyResult } | { error: string };

export async function runConcurrency(
  subject: Subject,
  runId: string,
  options: ConcurrencyOptions,
): Promise<ConcurrencyOutcome> {
  const { sessions, writers, rounds, batchSize } = options;
  const ids = Array.from({ length: sessions }, (_, s) => `${runId}-conc-${subject.role}-${s}`);
  try {
    // batches prepared up front so that conversion is not part of the throughput
    const batches = ids.map((_, s) =>
      Array.from({ length: writers }, (_, w) =>
        Array.from({ length: rounds }, (_, r) =>
          subject.prepare(Array.from({ length: batchSize }, (_, k) => makeItem(k + 1, `c${s}.w${w}.r${r}.k${k}`))),
        ),
      ),
    );
    const handles = ids.map((id) => subject.session(id));
    await Promise.all(handles.map((h) => h.clear()));
    const succeeded = new Set<string>();
    let failed = 0;
    let made = 0;
    let firstError: string | undefined;
    const t0 = performance.now();
    const deadline = t0 + options.deadlineMs;
    await Promise.all(
      handles.flatMap((handle, s) =>
        Array.from({ length: writers }, async (_, w) => {
          for (let r = 0; r < rounds; r++) {
            if (performance.now() > deadline) break;
            made++;
            try {
              await handle.add(batches[s]![w]![r]);
              succeeded.add(`c${s}.w${w}.r${r}`);
            } catch (error) {
              failed++;
              firstError ??= describeError(error);
            }
          }
        }),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;

    let lost = 0;
    let duplicated = 0;
    let brokenBatches = 0;
    let reorderedWriters = 0;
    for (let s = 0; s < sessions; s++) {
      const tags = (await handles[s]!.getAll()).map(tagOf);
      const position = new Map<string, number>();
      tags.forEach((tag, i) => {
        if (tag === undefined) return;
        if (position.has(tag)) duplicated++;
        else position.set(tag, i);
      });
      for (let w = 0; w < writers; w++) {
        let lastStart = -1;
        let ordered = true;
        for (let r = 0; r < rounds; r++) {
          if (!succeeded.has(`c${s}.w${w}.r${r}`)) continue;
          const first = position.get(`c${s}.w${w}.r${r}.k0`);
          let contiguous = first !== undefined;
          for (let k = 0; k < batchSize; k++) {
            const at = position.get(`c${s}.w${w}.r${r}.k${k}`);
            if (at === undefined) {
              lost++;
              contiguous = false;
            } else if (first !== undefined && at !== first + k) contiguous = false;
          }
          if (!contiguous) brokenBatches++;
          if (first !== undefined) {
            if (first < lastStart) ordered = false;
            lastStart = first;
          }
        }
        if (!ordered) reorderedWriters++;
      }
    }
    await Promise.all(handles.map((h) => h.clear().catch(() => {})));
    const itemsWritten = succeeded.size * batchSize;
    return {
      result: {
        sessions,
        writersPerSession: writers,
        batchSize,
        calls: made,
        skippedCalls: sessions * writers * rounds - made,
        failedCalls: failed,
        itemsWritten,
        seconds,
        itemsPerSec: itemsWritten / seconds,
        lost,
        duplicated,
        brokenBatches,
        reorderedWriters,
        ...(firstError === undefined ? {} : { firstError }),
      },
    };
  } catch (error) {
    return { error: describeError(error) };
  }
}
