/**
 * Round trips per operation, on clients connected through the counting proxy (see `proxy.ts`
 * for what one round trip is). Each operation is warmed up (connections opened, scripts and
 * statements cached), then run alone several times with the counter reset before each run; the
 * median is reported, and the spread when the runs disagree (a driver heartbeat that happened
 * to fall inside one run, for instance).
 */
import type { RoundTripCounter } from './proxy.ts';
import { describeError, median } from './timing.ts';

export interface RoundTripCount {
  /** Median round trips over the samples. */
  roundTrips: number;
  min: number;
  max: number;
  samples: number;
  /** Connections opened during the measured runs (should be 0 after warm-up). */
  newConnections: number;
}

export type RoundTripOutcome = { count: RoundTripCount } | { error: string };

export async function countRoundTrips(
  counter: RoundTripCounter,
  run: (i: number) => Promise<unknown>,
  options: { warmup: number; samples: number },
): Promise<RoundTripOutcome> {
  let i = 0;
  try {
    for (let k = 0; k < options.warmup; k++) await run(i++);
    const counts: number[] = [];
    let connections = 0;
    for (let k = 0; k < options.samples; k++) {
      counter.reset();
      await run(i++);
      counts.push(counter.roundTrips);
      connections += counter.connections;
    }
    return {
      count: {
        roundTrips: median(counts),
        min: Math.min(...counts),
        max: Math.max(...counts),
        samples: counts.length,
        newConnections: connections,
      },
    };
  } catch (error) {
    return { error: describeError(error) };
  }
}

/**
 * For SQLite on a local file there is no network: counts calls into `@libsql/client`
 * (`execute`, `batch`, `transaction`, `executeMultiple`, `migrate`) on a client object instead.
 * Each would be one round trip against a remote libSQL server (an interactive `transaction`
 * would be more); here they are in-process calls.
 */
export function countDriverCalls(client: object): RoundTripCounter {
  let calls = 0;
  const target = client as Record<string, unknown>;
  for (const method of ['execute', 'batch', 'transaction', 'executeMultiple', 'migrate']) {
    const original = target[method];
    if (typeof original !== 'function') continue;
    target[method] = function (this: unknown, ...args: unknown[]) {
      calls++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  return {
    get roundTrips() {
      return calls;
    },
    requestChunks: 0,
    responseChunks: 0,
    connections: 0,
    reset() {
      calls = 0;
    },
  };
}
