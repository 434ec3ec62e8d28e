/**
 * Everything measured for one backend, in order: seed histories of 10, 1,000 and 10,000 items;
 * time every operation for our store, the raw baseline and the peers side by side; count round
 * trips through the proxy; peak heap while reading the 10,000-item history; 16 sessions × 8
 * concurrent writers with a zero-loss check.
 */

import { type CatalogResult, runCatalog } from './catalog.ts';
import { type ConcurrencyResult, runConcurrency } from './concurrency.ts';
import type { BenchConfig } from './config.ts';
import { makeItems } from './items.ts';
import { type HeapPeak, measurePeakHeap } from './memory.ts';
import type { RoundTripCounter } from './proxy.ts';
import { countRoundTrips, type RoundTripCount } from './roundtrips.ts';
import type { BenchServer } from './servers.ts';
import type { BackendSpec, OpKind, Subject, SubjectRole, SubjectSpec } from './subject.ts';
import { type Contestant, compareLatency, describeError, type LatencyStats, type TimingOptions } from './timing.ts';

export interface SubjectInfo {
  role: SubjectRole;
  label: string;
  error?: string;
}

export interface Measurement {
  role: SubjectRole;
  label: string;
  support: 'native' | 'emulated';
  supportNote?: string;
  stats?: LatencyStats;
  error?: string;
  /** Network round trips, or how it was not counted. */
  roundTrips?: RoundTripCount;
  roundTripError?: string;
  /** For in-process backends: calls into the driver per operation (median). */
  driverCalls?: number;
}

export interface OpResult {
  op: OpKind;
  /** History length read, for reads. */
  history?: number;
  measurements: Measurement[];
}

export interface BackendResult {
  name: string;
  packageName: string;
  server?: { source: string; url: string };
  roundTripMethod: 'proxy' | 'in-process';
  subjects: SubjectInfo[];
  ops: OpResult[];
  memory: { role: SubjectRole; label: string; heap?: HeapPeak; error?: string }[];
  concurrency: { role: SubjectRole; label: string; result?: ConcurrencyResult; error?: string }[];
  /** The session catalog: listSessions pages at two store sizes, and addItems(1) against the previous release. */
  catalog?: CatalogResult;
  seconds: number;
  /** Set when our store could not run at all. */
  error?: string;
}

interface Live {
  spec: SubjectSpec;
  subject: Subject;
  /** The same subject through the counting proxy (network backends). */
  counted?: Subject;
  counter?: RoundTripCounter;
  /** History length → why seeding it failed. */
  seedErrors: Map<number, string>;
}

const log = (message: string) => console.log(`[bench] ${message}`);

export async function runBackend(
  spec: BackendSpec,
  server: BenchServer | undefined,
  config: BenchConfig,
  runId: string,
): Promise<BackendResult> {
  const started = performance.now();
  const result: BackendResult = {
    name: spec.name,
    packageName: spec.packageName,
    ...(server ? { server: { source: server.source, url: server.url.replace(/\/\/[^@/]*@/, '//***@') } } : {}),
    roundTripMethod: spec.roundTrips,
    subjects: [],
    ops: [],
    memory: [],
    concurrency: [],
    seconds: 0,
  };

  const live: Live[] = [];
  const directUrl = server?.url ?? '';
  for (const subjectSpec of [spec.ours, ...(spec.raw ? [spec.raw] : []), ...spec.peers]) {
    try {
      const subject = await subjectSpec.create(directUrl);
      const entry: Live = { spec: subjectSpec, subject, seedErrors: new Map() };
      if (server && spec.roundTrips === 'proxy') {
        try {
          entry.counted = await subjectSpec.create(server.countedUrl);
          entry.counter = server.counter;
        } catch (error) {
          log(`${subjectSpec.label}: no counted client: ${describeError(error)}`);
        }
      } else if (subject.driverCalls) {
        entry.counted = subject;
        entry.counter = subject.driverCalls;
      }
      live.push(entry);
      result.subjects.push({ role: subjectSpec.role, label: subjectSpec.label });
    } catch (error) {
      const message = describeError(error);
      log(`${subjectSpec.label}: unavailable: ${message}`);
      result.subjects.push({ role: subjectSpec.role, label: subjectSpec.label, error: message });
      if (subjectSpec.role === 'ours') result.error = message;
    }
  }
  if (!live.some((l) => l.spec.role === 'ours')) {
    await closeAll(live);
    result.seconds = (performance.now() - started) / 1000;
    return result;
  }

  const popSeed = Math.min(config.popSeed, spec.popSeed ?? Number.POSITIVE_INFINITY);
  const historyId = (l: Live, length: number) =>
    `${runId}-h${length}-${l.spec.sharesStorageWith ?? l.spec.role}${l.spec.role === 'peer' ? `-${slug(l.spec.label)}` : ''}`;
  const ownId = (l: Live, what: string) =>
    `${runId}-${what}-${l.spec.role}${l.spec.role === 'peer' ? `-${slug(l.spec.label)}` : ''}`;

  // ---- seed the histories (once per storage; the raw baseline reads what our store wrote)
  for (const l of live) {
    if (l.spec.sharesStorageWith) continue;
    for (const length of config.historyLengths) {
      const t0 = performance.now();
      try {
        await l.subject.seed(historyId(l, length), makeItems(length));
        log(
          `${spec.name}: seeded ${length} items for ${l.spec.label} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
      } catch (error) {
        l.seedErrors.set(length, `seeding ${length} items failed: ${describeError(error)}`);
        log(`${spec.name}: ${l.spec.label}: ${l.seedErrors.get(length)}`);
      }
    }
  }
  for (const l of live) {
    const owner = l.spec.sharesStorageWith ? live.find((o) => o.spec.role === l.spec.sharesStorageWith) : undefined;
    if (owner) l.seedErrors = owner.seedErrors;
  }
  for (const l of live) {
    if (!l.subject.supports.pop) continue;
    try {
      await l.subject.seed(ownId(l, 'pop'), makeItems(popSeed));
    } catch (error) {
      l.seedErrors.set(-1, `seeding the pop session failed: ${describeError(error)}`);
    }
  }

  // ---- latency and round trips. Reads of one kind at every history length are timed in one
  // interleaved group, so that the 10,000-vs-10 ratio is not skewed by drift between them.
  const batchPool = (l: Live, size: number) =>
    Array.from({ length: 16 }, (_, k) => l.subject.prepare(makeItems(size, 1_000_000 + k * size, 'a')));
  const readTiming = (history: number) => (history >= 1000 ? config.slow : config.fast);
  const groups: { op: OpKind; history?: number; timing: TimingOptions }[][] = [
    [{ op: 'add1', timing: config.fast }],
    [{ op: 'add10', timing: config.fast }],
    config.historyLengths.map((history) => ({ op: 'getLast20' as const, history, timing: config.fast })),
    config.historyLengths.map((history) => ({ op: 'getAll' as const, history, timing: readTiming(history) })),
    [{ op: 'pop', timing: config.fast }],
  ];

  const runnerFor =
    (l: Live, op: OpKind, history: number | undefined) =>
    (s: Subject, suffix: string): ((i: number) => Promise<unknown>) => {
      switch (op) {
        case 'add1':
        case 'add10': {
          const pool = batchPool(l, op === 'add1' ? 1 : 10);
          const session = s.session(ownId(l, `${op}${suffix}`));
          return (i) => session.add(pool[i % pool.length]);
        }
        case 'getAll': {
          const session = s.session(historyId(l, history!));
          return () => session.getAll();
        }
        case 'getLast20': {
          const session = s.session(historyId(l, history!));
          return () => session.getLast(20);
        }
        case 'pop': {
          const session = s.session(ownId(l, 'pop'));
          return async () => {
            if ((await session.pop()) === undefined) throw new Error('the pop session ran out of items');
          };
        }
      }
    };

  for (const group of groups) {
    const contestants: Contestant[] = [];
    const entries: { opResult: OpResult; runners: Map<string, { l: Live; make: ReturnType<typeof runnerFor> }> }[] = [];
    for (const { op, history, timing } of group) {
      const opResult: OpResult = { op, ...(history === undefined ? {} : { history }), measurements: [] };
      const runners = new Map<string, { l: Live; make: ReturnType<typeof runnerFor> }>();
      for (const l of live) {
        const support = l.subject.supports[op];
        if (!support) continue;
        const measurement: Measurement = {
          role: l.spec.role,
          label: l.spec.label,
          support: support.kind,
          ...(support.kind === 'emulated' ? { supportNote: support.how } : {}),
        };
        opResult.measurements.push(measurement);
        const seedError =
          history !== undefined ? l.seedErrors.get(history) : op === 'pop' ? l.seedErrors.get(-1) : undefined;
        if (seedError) {
          measurement.error = seedError;
          continue;
        }
        const make = runnerFor(l, op, history);
        runners.set(l.spec.label, { l, make });
        contestants.push({
          key: `${l.spec.label}\u0000${history ?? ''}`,
          run: make(l.subject, ''),
          options: timing,
          ...(op === 'pop'
            ? { maxIterations: popSeed - config.roundTrips.warmup - config.roundTrips.samples - 5 }
            : {}),
        });
      }
      entries.push({ opResult, runners });
    }
    const outcomes = await compareLatency(contestants, config.fast);
    for (const { opResult, runners } of entries) {
      for (const outcome of outcomes) {
        const [label, history] = outcome.key.split('\u0000');
        if ((history || undefined) !== (opResult.history === undefined ? undefined : String(opResult.history)))
          continue;
        const m = opResult.measurements.find((x) => x.label === label)!;
        if ('stats' in outcome) m.stats = outcome.stats;
        else m.error = outcome.error;
      }
      // round trips, one subject at a time, on the counted clients
      for (const [label, { l, make }] of runners) {
        const m = opResult.measurements.find((x) => x.label === label)!;
        if (!l.counted || !l.counter || m.error) continue;
        // slow calls (whole reads of long histories on slow servers) are counted on fewer runs:
        // the timing above already warmed every connection, and their count does not vary
        const slow = (m.stats?.p50Ms ?? 0) > 100;
        const outcome = await countRoundTrips(
          l.counter,
          make(l.counted, '-rt'),
          slow ? { warmup: 1, samples: Math.min(3, config.roundTrips.samples) } : config.roundTrips,
        );
        if ('error' in outcome) m.roundTripError = outcome.error;
        else if (spec.roundTrips === 'proxy') m.roundTrips = outcome.count;
        else m.driverCalls = outcome.count.roundTrips;
      }
      const name = `${opResult.op}${opResult.history === undefined ? '' : `@${opResult.history}`}`;
      log(
        `${spec.name} ${name}: ${opResult.measurements
          .map(
            (m) =>
              `${m.role}=${m.stats ? `${m.stats.p50Ms.toFixed(3)}ms` : 'n/a'}${m.roundTrips ? `/${m.roundTrips.roundTrips}rt` : ''}`,
          )
          .join(' ')}`,
      );
      result.ops.push(opResult);
    }
  }

  // ---- peak heap while reading the longest history
  const longest = Math.max(...config.historyLengths);
  for (const l of live) {
    if (!l.subject.supports.getAll) continue;
    const seedError = l.seedErrors.get(longest);
    if (seedError) {
      result.memory.push({ role: l.spec.role, label: l.spec.label, error: seedError });
      continue;
    }
    const session = l.subject.session(historyId(l, longest));
    const outcome = await measurePeakHeap(() => session.getAll(), config.heapRuns);
    result.memory.push({ role: l.spec.role, label: l.spec.label, ...outcome_(outcome) });
  }

  // ---- concurrency
  for (const l of live) {
    if (!l.subject.supports.add10) continue;
    const outcome = await runConcurrency(l.subject, `${runId}-${slug(l.spec.label)}`, config.concurrency);
    if ('result' in outcome) {
      const r = outcome.result;
      log(
        `${spec.name} concurrency ${l.spec.role}: ${Math.round(r.itemsPerSec)} items/s, lost ${r.lost}, failed calls ${r.failedCalls}`,
      );
      result.concurrency.push({ role: l.spec.role, label: l.spec.label, result: r });
    } else {
      result.concurrency.push({ role: l.spec.role, label: l.spec.label, error: outcome.error });
    }
  }

  // ---- clean up what this run wrote (matters when the server came from an environment URL)
  for (const l of live) {
    if (l.spec.sharesStorageWith) continue;
    const ids = [
      ...config.historyLengths.map((length) => historyId(l, length)),
      ownId(l, 'pop'),
      ...['add1', 'add10', 'add1-rt', 'add10-rt'].map((w) => ownId(l, w)),
    ];
    for (const id of ids)
      await l.subject
        .session(id)
        .clear()
        .catch(() => {});
  }
  for (const l of live.filter((x) => x.spec.sharesStorageWith)) {
    for (const id of [ownId(l, 'pop'), ...['add1', 'add10', 'add1-rt', 'add10-rt'].map((w) => ownId(l, w))]) {
      await l.subject
        .session(id)
        .clear()
        .catch(() => {});
    }
  }
  await closeAll(live);

  // ---- the session catalog (stores of its own, in namespaces of its own)
  const catalog = await runCatalog(spec, server, config, runId);
  if (catalog) result.catalog = catalog;
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

function outcome_(outcome: { heap: HeapPeak } | { error: string }): { heap?: HeapPeak; error?: string } {
  return 'heap' in outcome ? { heap: outcome.heap } : { error: outcome.error };
}

async function closeAll(live: Live[]): Promise<void> {
  for (const l of live) {
    await l.subject.close().catch(() => {});
    if (l.counted && l.counted !== l.subject) await l.counted.close().catch(() => {});
  }
}

function slug(label: string): string {
  return label
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()
    .slice(0, 40);
}
