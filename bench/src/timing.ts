/**
 * Latency measurement: warm-up, then contestants (ours, the raw baseline, peers) take turns in
 * short chunks until each has both its minimum number of iterations and its time budget, so a
 * slow drift of the machine (another process, a server checkpoint) hits all of them alike and
 * their ratio stays meaningful.
 */
import { performance } from 'node:perf_hooks';

export interface TimingOptions {
  warmup: number;
  minIterations: number;
  maxIterations: number;
  /** Time each contestant may spend on measured iterations (milliseconds). */
  budgetMs: number;
}

export interface Contestant {
  key: string;
  /** One operation; `i` counts from 0 over warm-up and measured iterations together. */
  run(i: number): Promise<unknown>;
  /** Upper bound on iterations this contestant can do (e.g. how many items there are to pop). */
  maxIterations?: number;
  /** Overrides the shared options (e.g. fewer iterations for whole reads of long histories). */
  options?: TimingOptions;
}

export interface LatencyStats {
  n: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  minMs: number;
  /** Sequential operations per second from one caller: 1000 / mean latency. */
  opsPerSec: number;
}

export type TimingOutcome = { key: string; stats: LatencyStats } | { key: string; error: string };

const CHUNK_TARGET_MS = 40;

export async function compareLatency(contestants: Contestant[], shared: TimingOptions): Promise<TimingOutcome[]> {
  interface State {
    c: Contestant;
    o: TimingOptions;
    samples: number[];
    spent: number;
    next: number;
    limit: number;
    error?: string;
    perOp: number;
  }
  const states: State[] = contestants.map((c) => {
    const o = c.options ?? shared;
    return {
      c,
      o,
      samples: [],
      spent: 0,
      next: 0,
      limit: Math.min(o.maxIterations, c.maxIterations === undefined ? Infinity : c.maxIterations - o.warmup),
      perOp: 1,
    };
  });

  for (const s of states) {
    try {
      // up to `warmup` calls, but slow calls stop warming up after half the budget (≥ 2 calls)
      const t0 = performance.now();
      let k = 0;
      while (k < s.o.warmup && (k < 2 || performance.now() - t0 < s.o.budgetMs / 2)) {
        await s.c.run(s.next++);
        k++;
      }
      s.perOp = Math.max(0.005, (performance.now() - t0) / Math.max(1, k));
    } catch (error) {
      s.error = describeError(error);
    }
  }

  // Enough: the minimum count within the budget, or, for calls so slow that the minimum count
  // would take long (whole reads on slow servers), at least 5 samples once 4× the budget is spent.
  const done = (s: State) =>
    s.error !== undefined ||
    s.samples.length >= s.limit ||
    (s.samples.length >= s.o.minIterations && s.spent >= s.o.budgetMs) ||
    (s.samples.length >= Math.min(5, s.o.minIterations) && s.spent >= 4 * s.o.budgetMs);

  while (states.some((s) => !done(s))) {
    for (const s of states) {
      if (done(s)) continue;
      const chunk = Math.max(1, Math.min(50, Math.round(CHUNK_TARGET_MS / s.perOp), s.limit - s.samples.length));
      try {
        for (let k = 0; k < chunk; k++) {
          const t0 = performance.now();
          await s.c.run(s.next++);
          const dt = performance.now() - t0;
          s.samples.push(dt);
          s.spent += dt;
        }
        s.perOp = s.spent / s.samples.length;
      } catch (error) {
        s.error = describeError(error);
      }
    }
  }

  return states.map((s) =>
    s.error !== undefined && s.samples.length === 0
      ? { key: s.c.key, error: s.error }
      : { key: s.c.key, stats: summarize(s.samples) },
  );
}

export function summarize(samples: number[]): LatencyStats {
  const sorted = samples.slice().sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: mean,
    minMs: sorted[0] ?? Number.NaN,
    opsPerSec: mean > 0 ? 1000 / mean : Number.NaN,
  };
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: number[]): number {
  return percentile(
    values.slice().sort((a, b) => a - b),
    50,
  );
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const name = error.constructor?.name && error.constructor.name !== 'Error' ? `${error.constructor.name}: ` : '';
    const cause = (error as { cause?: unknown }).cause;
    const causeText =
      cause instanceof Error && cause.message && !error.message.includes(cause.message)
        ? ` (cause: ${cause.message})`
        : '';
    return `${name}${error.message}${causeText}`.replace(/\s+/g, ' ').slice(0, 400);
  }
  return String(error).slice(0, 400);
}
