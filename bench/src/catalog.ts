/**
 * The session catalog's figures for one backend:
 * - `listSessions({ limit: 50 })` (the first page), page 20 (through the cursor of page 19) and a
 *   page filtered on metadata, on a store of 1,000 sessions and on a large one (100,000, or what a
 *   slow local emulator can be seeded with in the time allowed), all six timed in one round-robin
 *   so their ratios hold when the machine drifts, with round trips counted as for every other figure;
 * - what the catalog's bookkeeping adds to `addItems(1)`: our store against its previous release
 *   (the same package before its catalog commit, see `previous.ts`) and the raw-driver baseline,
 *   timed turn by turn on the same server.
 *
 * Each store size lives in a namespace of its own (tables, key prefix, collections, table, file),
 * dropped before seeding and after the run. Seeding goes through our store: `concurrency` writers
 * each `addItems` one item to a new session, and every 10th session is labelled with
 * `updateMetadata({ tenant: 'acme' })` — what the filtered page asks for. Seeding is bounded in
 * count and time; the sizes actually reached are reported.
 */

import type { CatalogSpec, CatalogStore, OpenedStore, StoreClass } from './catalog-stores.ts';
import type { BenchConfig } from './config.ts';
import { makeItem, makeItems } from './items.ts';
import { loadPrevious } from './previous.ts';
import type { RoundTripCounter } from './proxy.ts';
import { countRoundTrips, type RoundTripCount } from './roundtrips.ts';
import type { BenchServer } from './servers.ts';
import type { BackendSpec, Subject } from './subject.ts';
import { type Contestant, compareLatency, describeError, type LatencyStats } from './timing.ts';

export type PageKind = 'first' | 'cursor' | 'filtered';

export const PAGE_LABEL: Record<PageKind, string> = {
  first: 'listSessions({ limit: 50 })',
  cursor: 'page 20 (cursor)',
  filtered: 'filtered on metadata',
};

/** What `listSessions` is called with for each kind (the cursor is added for `cursor`). */
const PAGE_SIZE = 50;
const PAGE_NUMBER = 20;
const FILTER = { tenant: 'acme' } as const;
const TAG_EVERY = 10;

export interface CountFigures {
  roundTrips?: RoundTripCount;
  /** In-process SQLite: calls into the driver (median). */
  driverCalls?: number;
  roundTripError?: string;
}

export type StoreKind = 'small' | 'large';

export interface StoreSize {
  store: StoreKind;
  /** What the run asked for. */
  target: number;
  /** Sessions the seeding wrote (the size every figure of this store is for). */
  seeded: number;
  seconds: number;
  /** True when the time allowed ran out before `target`. */
  truncated: boolean;
  failedWrites: number;
  firstError?: string;
}

export interface PageFigure extends CountFigures {
  kind: PageKind;
  store: StoreKind;
  /** Sessions in the store. */
  size: number;
  stats?: LatencyStats;
  /** Sessions in the page returned. */
  returned?: number;
  error?: string;
}

export interface WriteFigure extends CountFigures {
  role: 'ours' | 'previous' | 'raw';
  label: string;
  stats?: LatencyStats;
  error?: string;
}

export interface CatalogResult {
  sizes: StoreSize[];
  pages: PageFigure[];
  /** `addItems(1)`: ours, the previous release and the raw baseline, timed turn by turn. */
  write: WriteFigure[];
  /** Which previous release the write figures compare with. */
  previous?: { label: string; commit: string };
  seconds: number;
  /** Set when the catalog could not be measured at all. */
  error?: string;
}

const log = (message: string) => console.log(`[bench] ${message}`);

interface Instance {
  direct: OpenedStore;
  /** The same store through the counting proxy, or the direct one where calls are counted in process. */
  counted?: OpenedStore;
  counter?: RoundTripCounter;
}

export async function runCatalog(
  spec: BackendSpec,
  server: BenchServer | undefined,
  config: BenchConfig,
  runId: string,
): Promise<CatalogResult | undefined> {
  const catalog = spec.catalog;
  if (!catalog) return undefined;
  const started = performance.now();
  const result: CatalogResult = { sizes: [], pages: [], write: [], seconds: 0 };
  const url = server?.url ?? '';
  const cc = config.catalog;
  const targets: [StoreKind, number][] = [
    ['small', Math.min(cc.small, catalog.sizes?.small ?? Number.POSITIVE_INFINITY)],
    ['large', Math.min(cc.large, catalog.sizes?.large ?? Number.POSITIVE_INFINITY)],
  ];
  const namespaces: string[] = [];
  const instances: Instance[] = [];

  const open = async (Store: StoreClass, ns: string, bulkLoad = false): Promise<Instance> => {
    const direct = await catalog.open(Store, url, ns, { bulkLoad });
    const instance: Instance = { direct };
    instances.push(instance);
    if (server && spec.roundTrips === 'proxy') {
      instance.counted = await catalog.open(Store, server.countedUrl, ns);
      instance.counter = server.counter;
    } else if (direct.driverCalls) {
      instance.counted = direct;
      instance.counter = direct.driverCalls;
    }
    return instance;
  };
  const fresh = async (Store: StoreClass, ns: string, bulkLoad = false) => {
    namespaces.push(ns);
    await catalog.drop(url, ns);
    return open(Store, ns, bulkLoad);
  };

  try {
    const Current = await catalog.current();

    // ---- seed one store per size
    const stores: { store: StoreKind; size: number; instance: Instance; cursor?: string; cursorError?: string }[] = [];
    for (const [store, target] of targets) {
      const instance = await fresh(Current, `cat${short(target)}`, true);
      const seeding = await seed(
        instance.direct.store,
        store,
        target,
        catalog.seedConcurrency ?? cc.seedConcurrency,
        cc.seedDeadlineMs,
      );
      result.sizes.push(seeding);
      log(
        `${spec.name} catalog: seeded ${seeding.seeded.toLocaleString('en-US')} of ${target.toLocaleString('en-US')} sessions in ${seeding.seconds.toFixed(1)} s${seeding.failedWrites ? ` (${seeding.failedWrites} writes failed: ${seeding.firstError})` : ''}`,
      );
      stores.push({ store, size: seeding.seeded, instance });
    }

    // ---- the cursor of page 20 (read once; the timed calls all read the same page)
    for (const s of stores) {
      try {
        let cursor: string | undefined;
        for (let page = 1; page < PAGE_NUMBER; page++) {
          cursor = (await list(s.instance.direct.store, { limit: PAGE_SIZE, ...(cursor && { cursor }) })).nextCursor;
          if (!cursor) throw new Error(`the listing ended at page ${page} (fewer than ${PAGE_NUMBER} pages)`);
        }
        s.cursor = cursor;
      } catch (error) {
        s.cursorError = describeError(error);
      }
    }

    // ---- time the pages: every kind at every size in one round-robin
    const optionsFor = (kind: PageKind, s: (typeof stores)[number]) =>
      kind === 'first'
        ? { limit: PAGE_SIZE }
        : kind === 'cursor'
          ? { limit: PAGE_SIZE, cursor: s.cursor! }
          : { limit: PAGE_SIZE, metadata: FILTER };
    const contestants: Contestant[] = [];
    for (const kind of ['first', 'cursor', 'filtered'] as const) {
      for (const s of stores) {
        const figure: PageFigure = { kind, store: s.store, size: s.size };
        result.pages.push(figure);
        if (kind === 'cursor' && s.cursorError) {
          figure.error = s.cursorError;
          continue;
        }
        const options = optionsFor(kind, s);
        contestants.push({
          key: `${kind}\u0000${s.store}`,
          run: async () => {
            figure.returned = (await list(s.instance.direct.store, options)).sessions.length;
          },
          options: config.fast,
        });
      }
    }
    for (const outcome of await compareLatency(contestants, config.fast)) {
      const [kind, store] = outcome.key.split('\u0000');
      const figure = result.pages.find((f) => f.kind === kind && f.store === store)!;
      if ('stats' in outcome) figure.stats = outcome.stats;
      else figure.error = outcome.error;
    }
    for (const figure of result.pages) {
      const s = stores.find((x) => x.store === figure.store)!;
      if (figure.error) continue;
      const options = optionsFor(figure.kind, s);
      const { counted, counter } = s.instance;
      if (counted && counter) {
        Object.assign(figure, await count(spec, counter, () => list(counted.store, options), config));
      }
      log(
        `${spec.name} catalog ${figure.kind}@${figure.size}: ${figure.stats ? `${figure.stats.p50Ms.toFixed(3)}ms` : 'n/a'}${figure.roundTrips ? `/${figure.roundTrips.roundTrips}rt` : ''}${figure.driverCalls === undefined ? '' : `/${figure.driverCalls} calls`}, ${figure.returned ?? '?'} sessions`,
      );
    }
    for (const s of stores) await closeInstance(s.instance);

    // ---- addItems(1): ours, the previous release, the raw baseline, turn by turn
    await measureWrite(spec, server, config, runId, catalog, Current, fresh, result);
  } catch (error) {
    result.error = describeError(error);
    log(`${spec.name} catalog: ${result.error}`);
  } finally {
    for (const instance of instances) await closeInstance(instance);
    for (const ns of namespaces) {
      await catalog
        .drop(url, ns)
        .catch((error) => log(`${spec.name} catalog: dropping ${ns}: ${describeError(error)}`));
    }
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

async function measureWrite(
  spec: BackendSpec,
  server: BenchServer | undefined,
  config: BenchConfig,
  runId: string,
  catalog: CatalogSpec,
  Current: StoreClass,
  fresh: (Store: StoreClass, ns: string) => Promise<Instance>,
  result: CatalogResult,
): Promise<void> {
  interface Entry {
    figure: WriteFigure;
    run: (i: number) => Promise<unknown>;
    counter?: RoundTripCounter;
    countedRun?: (i: number) => Promise<unknown>;
  }
  const entries: Entry[] = [];
  const pool = Array.from({ length: 16 }, (_, k) => makeItems(1, 2_000_000 + k, 'w'));
  const sessionId = `${runId}-catw`;
  const storeEntry = (figure: WriteFigure, instance: Instance): Entry => {
    const direct = instance.direct.store.session(`${sessionId}-direct`);
    // a counted store in process (SQLite) is the timed one: count on a session of its own
    const counted = instance.counted?.store.session(`${sessionId}-counted`);
    return {
      figure,
      run: (i) => direct.addItems(pool[i % pool.length]!),
      ...(counted && instance.counter
        ? { counter: instance.counter, countedRun: (i: number) => counted.addItems(pool[i % pool.length]!) }
        : {}),
    };
  };

  entries.push(storeEntry({ role: 'ours', label: spec.ours.label }, await fresh(Current, 'catw')));
  try {
    const previous = await loadPrevious(catalog.previous.packageDir, catalog.previous.subject, catalog.previous.entry);
    const Previous = previous.module[catalog.previous.exportName];
    if (typeof Previous !== 'function') throw new Error(`${previous.label} has no ${catalog.previous.exportName}`);
    result.previous = { label: previous.label, commit: previous.commit };
    entries.push(
      storeEntry({ role: 'previous', label: previous.label }, await fresh(Previous as StoreClass, 'catprev')),
    );
  } catch (error) {
    const message = describeError(error);
    log(`${spec.name} catalog: no previous release: ${message}`);
    result.write.push({ role: 'previous', label: 'previous release', error: message });
  }
  const raws: Subject[] = [];
  if (spec.raw) {
    try {
      const raw = await spec.raw.create(server?.url ?? '');
      raws.push(raw);
      const proxied = server && spec.roundTrips === 'proxy';
      const counted = proxied ? await spec.raw.create(server.countedUrl) : raw;
      if (counted !== raw) raws.push(counted);
      const prepared = pool.map((batch) => raw.prepare(batch));
      const direct = raw.session(`${sessionId}-raw-direct`);
      const countedSession = counted.session(`${sessionId}-raw-counted`);
      const counter = proxied ? server.counter : raw.driverCalls;
      entries.push({
        figure: { role: 'raw', label: spec.raw.label },
        run: (i) => direct.add(prepared[i % prepared.length]),
        ...(counter ? { counter, countedRun: (i: number) => countedSession.add(prepared[i % prepared.length]) } : {}),
      });
    } catch (error) {
      result.write.push({ role: 'raw', label: spec.raw.label, error: describeError(error) });
    }
  }

  try {
    const outcomes = await compareLatency(
      entries.map((e) => ({ key: e.figure.role, run: e.run, options: config.fast })),
      config.fast,
    );
    for (const e of entries) {
      const outcome = outcomes.find((o) => o.key === e.figure.role)!;
      if ('stats' in outcome) e.figure.stats = outcome.stats;
      else e.figure.error = outcome.error;
      result.write.push(e.figure);
    }
    for (const e of entries) {
      if (e.figure.error || !e.counter || !e.countedRun) continue;
      Object.assign(e.figure, await count(spec, e.counter, e.countedRun, config));
    }
    log(
      `${spec.name} catalog addItems(1): ${result.write
        .map(
          (f) =>
            `${f.role}=${f.stats ? `${f.stats.p50Ms.toFixed(3)}ms` : 'n/a'}${f.roundTrips ? `/${f.roundTrips.roundTrips}rt` : ''}${f.driverCalls === undefined ? '' : `/${f.driverCalls} calls`}`,
        )
        .join(' ')}`,
    );
  } finally {
    // the raw baseline wrote into the run's main namespace: remove its sessions
    for (const raw of raws) {
      for (const which of ['direct', 'counted']) {
        await raw
          .session(`${sessionId}-raw-${which}`)
          .clear()
          .catch(() => {});
      }
      await raw.close().catch(() => {});
    }
  }
}

async function count(
  spec: BackendSpec,
  counter: RoundTripCounter,
  run: (i: number) => Promise<unknown>,
  config: BenchConfig,
): Promise<CountFigures> {
  const outcome = await countRoundTrips(counter, run, config.roundTrips);
  if ('error' in outcome) return { roundTripError: outcome.error };
  return spec.roundTrips === 'proxy' ? { roundTrips: outcome.count } : { driverCalls: outcome.count.roundTrips };
}

async function list(store: CatalogStore, options: Parameters<NonNullable<CatalogStore['listSessions']>>[0]) {
  if (!store.listSessions) throw new Error('this store has no listSessions');
  return store.listSessions(options);
}

/**
 * `concurrency` writers take the next session number until `target` or the deadline: one item
 * each, and every 10th session labelled. Stops early after 100 failed writes.
 */
async function seed(
  store: CatalogStore,
  kind: StoreKind,
  target: number,
  concurrency: number,
  deadlineMs: number,
): Promise<StoreSize> {
  const t0 = performance.now();
  const deadline = t0 + deadlineMs;
  let next = 0;
  let seeded = 0;
  let failedWrites = 0;
  let firstError: string | undefined;
  let lastLog = t0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < target && performance.now() < deadline && failedWrites < 100) {
        const n = next++;
        const session = store.session(`s${String(n).padStart(7, '0')}`);
        try {
          await session.addItems([makeItem(n)]);
          if (n % TAG_EVERY === 0) await session.updateMetadata({ ...FILTER, n });
          seeded++;
        } catch (error) {
          failedWrites++;
          firstError ??= describeError(error);
        }
        if (performance.now() - lastLog > 15_000) {
          lastLog = performance.now();
          log(`  … ${seeded.toLocaleString('en-US')} sessions in ${((lastLog - t0) / 1000).toFixed(0)} s`);
        }
      }
    }),
  );
  return {
    store: kind,
    target,
    seeded,
    seconds: (performance.now() - t0) / 1000,
    truncated: seeded < target,
    failedWrites,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

const closed = new WeakSet<Instance>();
async function closeInstance(instance: Instance): Promise<void> {
  if (closed.has(instance)) return;
  closed.add(instance);
  const { direct, counted } = instance;
  await direct.close().catch(() => {});
  if (counted && counted !== direct) await counted.close().catch(() => {});
}

/** 1000 → "1k", 100000 → "100k". */
export function short(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}
