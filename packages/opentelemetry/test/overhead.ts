// What instrument() costs on addItems(1) against Redis: the bare store, instrument() with the API's
// no-op providers (no SDK registered: the target is ≤ 1.05×), and with a recording SDK (in-memory
// exporters) for reference. Subjects take turns in shuffled rounds on one connection, so drift in
// the server or the machine falls on all of them alike: each round makes one call per subject, in
// a shuffled order, so neighbouring calls of different subjects see the same load. The CPU cost of
// the wrapper alone is measured on the in-memory store too (no I/O to hide it).
//
//   pnpm --filter @sessions/opentelemetry overhead        (REDIS_URL, else a test server is started)
import { performance } from 'node:perf_hooks';
import { InMemorySessionStore, type Session } from '@sessions/core';
import { RedisSessionStore } from '@sessions/redis';
import { startService } from '@sessions/test-services';
import { instrument } from '../src/index.js';
import { telemetry } from './helpers.js';

const ROUNDS = Number(process.env.OVERHEAD_ROUNDS ?? 30);
const CALLS_PER_ROUND = Number(process.env.OVERHEAD_CALLS ?? 200);
const WARMUP_CALLS = 300;

const service = await startService('redis');
const keyPrefix = `otel_overhead_${process.pid}`;
const raw = new RedisSessionStore({ url: service.url, keyPrefix });
const sdk = telemetry();
const subjects: Record<string, { session(id: string): Session }> = {
  bare: raw,
  'instrument (no-op)': instrument(raw),
  'instrument (SDK, in-memory)': instrument(raw, {
    tracerProvider: sdk.tracerProvider,
    meterProvider: sdk.meterProvider,
  }),
};
const item = { type: 'message', role: 'user', content: 'What is the weather in Paris today?' };
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
const used: string[] = [];

async function timeRounds(
  targets: Record<string, { session(id: string): Session }>,
  into: Record<string, number[]>,
  rounds: number,
): Promise<void> {
  const sessions = Object.entries(targets).map(([name, target]) => {
    const id = `${name}-${used.length}`;
    used.push(id);
    return [name, target.session(id)] as const;
  });
  for (let round = 0; round < rounds; round++) {
    for (const [name, session] of [...sessions].sort(() => Math.random() - 0.5)) {
      const started = performance.now();
      await session.addItems([item]);
      into[name]?.push(performance.now() - started);
    }
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function report(title: string, values: Record<string, number[]>): void {
  const base = values.bare!;
  console.log(title);
  console.log('subject                        p50 µs   mean µs   p99 µs   p50 ratio   mean ratio');
  for (const [name, list] of Object.entries(values)) {
    const row = [
      name.padEnd(28),
      (percentile(list, 0.5) * 1000).toFixed(1).padStart(8),
      (mean(list) * 1000).toFixed(1).padStart(9),
      (percentile(list, 0.99) * 1000).toFixed(1).padStart(8),
      `${(percentile(list, 0.5) / percentile(base, 0.5)).toFixed(3)}×`.padStart(11),
      `${(mean(list) / mean(base)).toFixed(3)}×`.padStart(12),
    ];
    console.log(row.join(' '));
  }
}

try {
  await timeRounds(subjects, {}, WARMUP_CALLS);
  await timeRounds(subjects, samples, ROUNDS * CALLS_PER_ROUND);
  report(`addItems(1) on Redis (${service.source}), ${ROUNDS * CALLS_PER_ROUND} calls per subject`, samples);

  const memory = new InMemorySessionStore();
  const memorySubjects = {
    bare: memory,
    'instrument (no-op)': instrument(memory),
    'instrument (SDK, in-memory)': instrument(memory, {
      tracerProvider: sdk.tracerProvider,
      meterProvider: sdk.meterProvider,
    }),
  };
  const memorySamples: Record<string, number[]> = Object.fromEntries(Object.keys(memorySubjects).map((n) => [n, []]));
  await timeRounds(memorySubjects, {}, WARMUP_CALLS);
  await timeRounds(memorySubjects, memorySamples, ROUNDS * CALLS_PER_ROUND);
  report('addItems(1) on the in-memory store (the CPU cost of the wrapper alone)', memorySamples);
  const extra = (name: string) =>
    ((percentile(memorySamples[name]!, 0.5) - percentile(memorySamples.bare!, 0.5)) * 1000).toFixed(1);
  console.log(
    `added per call (p50): no-op ${extra('instrument (no-op)')} µs, SDK ${extra('instrument (SDK, in-memory)')} µs; ` +
      `Redis p50 ${(percentile(samples.bare!, 0.5) * 1000).toFixed(1)} µs`,
  );
  await memory.close();
} finally {
  await Promise.all(used.map((id) => raw.deleteSession(id)));
  await raw.close();
  await sdk.shutdown();
  await service.stop();
}
