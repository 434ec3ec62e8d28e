/**
 * Iteration counts and sizes. The full run is sized to finish in well under 10 minutes on a
 * 2-core machine; `BENCH_QUICK=1` is a ~1-minute smoke run (same scenarios, fewer iterations).
 *
 * Environment:
 * - `BENCH_QUICK=1`          smoke run; results go to `results/quick/` unless `BENCH_OUT` is set
 * - `BENCH_BACKENDS=a,b`     only these backends (memory, sqlite, redis, postgres, mongo, dynamodb)
 * - `BENCH_BUDGET_MS=n`      time each contestant spends on one operation (default 900, quick 80)
 * - `BENCH_OUT=dir`          where to write latest.md / latest.json / latency-vs-history.svg
 * - `BENCH_CATALOG_SIZE=n`   the large store of the catalog figures (default 100,000, quick 5,000)
 * - `BENCH_MERGE=1`          keep the other backends of the `latest.json` already in the output
 *                            folder (a run of a few backends then updates only theirs)
 */
import { fileURLToPath } from 'node:url';
import type { ConcurrencyOptions } from './concurrency.ts';
import type { TimingOptions } from './timing.ts';

export interface BenchConfig {
  quick: boolean;
  historyLengths: number[];
  /** Fast operations (adds, pops, short reads). */
  fast: TimingOptions;
  /** Reads of a whole long history (1,000 items and more). */
  slow: TimingOptions;
  roundTrips: { warmup: number; samples: number };
  heapRuns: number;
  concurrency: ConcurrencyOptions;
  /** Items seeded into each pop session (bounds how many pops are timed). */
  popSeed: number;
  backends: string[] | undefined;
  outDir: string;
  /** Keep the backends this run does not measure from the results already in `outDir`. */
  merge: boolean;
  catalog: CatalogOptions;
}

export interface CatalogOptions {
  /** Sessions in the small and the large store that `listSessions` pages are timed on. */
  small: number;
  large: number;
  /** Concurrent writers seeding a store through our store. */
  seedConcurrency: number;
  /** Seeding one store stops after this long; the size reached is reported. */
  seedDeadlineMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const budget = Number(env.BENCH_BUDGET_MS) || (quick ? 80 : 900);
  const defaultOut = fileURLToPath(new URL(quick ? '../results/quick/' : '../results/', import.meta.url));
  return {
    quick,
    // the lengths; the smoke run keeps the shape with a shorter longest history
    historyLengths: quick ? [10, 200, 2_000] : [10, 1_000, 10_000],
    fast: quick
      ? { warmup: 5, minIterations: 10, maxIterations: 400, budgetMs: budget }
      : { warmup: 30, minIterations: 50, maxIterations: 3_000, budgetMs: budget },
    slow: quick
      ? { warmup: 1, minIterations: 3, maxIterations: 50, budgetMs: budget }
      : { warmup: 1, minIterations: 5, maxIterations: 500, budgetMs: budget * 1.5 },
    roundTrips: { warmup: 2, samples: quick ? 3 : 5 },
    heapRuns: quick ? 1 : 3,
    concurrency: { sessions: 16, writers: 8, rounds: quick ? 2 : 10, batchSize: 5, deadlineMs: quick ? 1_000 : 6_000 },
    popSeed: quick ? 450 : 3_100,
    backends: env.BENCH_BACKENDS ? env.BENCH_BACKENDS.split(',').map((s) => s.trim().toLowerCase()) : undefined,
    outDir: env.BENCH_OUT ?? defaultOut,
    merge: env.BENCH_MERGE === '1' || env.BENCH_MERGE === 'true',
    catalog: {
      small: 1_000,
      large: Number(env.BENCH_CATALOG_SIZE) || (quick ? 5_000 : 100_000),
      seedConcurrency: 32,
      seedDeadlineMs: quick ? 40_000 : 150_000,
    },
  };
}
