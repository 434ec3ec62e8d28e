/**
 * The issue's targets, checked against the measurements (reported, never asserted). A missed
 * target carries the numbers that show why, and the reason when it is known (`notes.ts`).
 */
import { PAGE_LABEL, type PageFigure, type WriteFigure } from './catalog.ts';
import { explain } from './notes.ts';
import type { BackendResult, Measurement, OpResult } from './scenarios.ts';
import { OP_LABEL } from './subject.ts';

export type TargetStatus = 'met' | 'missed' | 'n/a';

export interface TargetCheck {
  target:
    | 'flat-limit-read'
    | 'add10-round-trips'
    | 'overhead-vs-raw'
    | 'faster-than-peer'
    | 'catalog-flat-page'
    | 'catalog-write-overhead';
  backend: string;
  subject: string;
  status: TargetStatus;
  value: string;
  why?: string;
}

export const TARGET_TEXT: Record<TargetCheck['target'], string> = {
  'flat-limit-read':
    '`getItems(20)` on a 10,000-item history within 1.5× of the same call on a 10-item history (the longest and shortest histories of the run)',
  'add10-round-trips':
    '`addItems(10)` in one round trip on Redis, PostgreSQL and SQLite, at most two on MongoDB and DynamoDB',
  'overhead-vs-raw': 'our overhead over the raw-driver baseline at most 1.3× per operation (p50)',
  'faster-than-peer': 'faster than each peer on every operation the peer supports (p50)',
  'catalog-flat-page':
    '`listSessions` pages of 50 (the first, page 20 by cursor, filtered on metadata) on the large store (100,000 sessions, or what the time allowed) within 1.5× of the same page on the small one (1,000 sessions; 100 on FerretDB) (p50)',
  'catalog-write-overhead':
    'what the catalog adds to `addItems(1)` at most 1.15× (p50 of our store ÷ its previous release without the catalog, timed turn by turn)',
};

const MAX_ADD10_ROUND_TRIPS: Record<string, number> = { redis: 1, postgres: 1, sqlite: 1, mongo: 2, dynamodb: 2 };

export function opName(op: OpResult): string {
  return `${OP_LABEL[op.op]}${op.history === undefined ? '' : ` @ ${op.history.toLocaleString('en-US')}`}`;
}

const ours = (op: OpResult) => op.measurements.find((m) => m.role === 'ours');

export function ratio(a: Measurement | undefined, b: Measurement | undefined): number | undefined {
  if (!a?.stats || !b?.stats || !(b.stats.p50Ms > 0)) return undefined;
  return a.stats.p50Ms / b.stats.p50Ms;
}

export function checkTargets(backends: BackendResult[], historyLengths: number[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const longest = Math.max(...historyLengths);
  const shortest = Math.min(...historyLengths);
  for (const b of backends) {
    if (b.error) continue;
    const find = (op: string, history?: number) => b.ops.find((o) => o.op === op && o.history === history);
    const label = b.packageName;

    // 1. getItems(20) flat in history length
    const short = ours(find('getLast20', shortest) ?? { op: 'getLast20', measurements: [] });
    const long = ours(find('getLast20', longest) ?? { op: 'getLast20', measurements: [] });
    const flat = ratio(long, short);
    if (flat === undefined) {
      checks.push({ target: 'flat-limit-read', backend: b.name, subject: label, status: 'n/a', value: 'not measured' });
    } else {
      const value = `${flat.toFixed(2)}× (${fmtMs(long!.stats!.p50Ms)} vs ${fmtMs(short!.stats!.p50Ms)})`;
      // the same ratio for the baseline and peers, as evidence of where the growth comes from
      const others = (find('getLast20', longest)?.measurements ?? [])
        .filter((m) => m.role !== 'ours')
        .map((m) => {
          const r = ratio(
            m,
            find('getLast20', shortest)?.measurements.find((x) => x.label === m.label),
          );
          return r === undefined ? undefined : `${m.label}: ${r.toFixed(2)}×`;
        })
        .filter((t): t is string => t !== undefined);
      const why = [
        explain(b.name, 'flat-limit-read') ?? 'the newest-20 read does work that grows with the history',
        ...(others.length ? [`the same ratio for ${others.join(', ')}`] : []),
      ].join('; ');
      checks.push({
        target: 'flat-limit-read',
        backend: b.name,
        subject: label,
        status: flat <= 1.5 ? 'met' : 'missed',
        value,
        ...(flat <= 1.5 ? {} : { why }),
      });
    }

    // 2. addItems(10) round trips
    const add10 = ours(find('add10') ?? { op: 'add10', measurements: [] });
    const max = MAX_ADD10_ROUND_TRIPS[b.name];
    if (max === undefined) {
      checks.push({
        target: 'add10-round-trips',
        backend: b.name,
        subject: label,
        status: 'n/a',
        value: 'in-process, no I/O',
      });
    } else if (b.roundTripMethod === 'in-process') {
      const calls = add10?.driverCalls;
      checks.push({
        target: 'add10-round-trips',
        backend: b.name,
        subject: label,
        status: calls === undefined ? 'n/a' : calls <= max ? 'met' : 'missed',
        value:
          calls === undefined ? 'in-process' : `in-process: ${calls} driver call${calls === 1 ? '' : 's'} (≤ ${max})`,
        ...(calls !== undefined && calls > max
          ? { why: explain(b.name, 'add10-round-trips') ?? 'more than one batch per call' }
          : {}),
      });
    } else {
      const rt = add10?.roundTrips?.roundTrips;
      checks.push({
        target: 'add10-round-trips',
        backend: b.name,
        subject: label,
        status: rt === undefined ? 'n/a' : rt <= max ? 'met' : 'missed',
        value: rt === undefined ? (add10?.roundTripError ?? add10?.error ?? 'not counted') : `${rt} (≤ ${max})`,
        ...(rt !== undefined && rt > max
          ? { why: explain(b.name, 'add10-round-trips') ?? 'the write takes more round trips than the design allows' }
          : {}),
      });
    }

    // 3. overhead over the raw baseline, per operation
    // 4. faster than each peer, per operation the peer supports natively
    for (const op of b.ops) {
      const o = ours(op);
      const raw = op.measurements.find((m) => m.role === 'raw');
      if (raw) {
        const r = ratio(o, raw);
        if (r !== undefined) {
          const missed = r > 1.3;
          checks.push({
            target: 'overhead-vs-raw',
            backend: b.name,
            subject: `${label}: ${opName(op)}`,
            status: missed ? 'missed' : 'met',
            value: `${r.toFixed(2)}× (${fmtMs(o!.stats!.p50Ms)} vs ${fmtMs(raw.stats!.p50Ms)})`,
            ...(missed ? { why: whyOverhead(b.name, op, o!, raw) } : {}),
          });
        }
      }
      for (const peer of op.measurements.filter((m) => m.role === 'peer')) {
        if (peer.support !== 'native') continue;
        const r = ratio(o, peer);
        if (r === undefined) {
          if (peer.error && o?.stats) {
            checks.push({
              target: 'faster-than-peer',
              backend: b.name,
              subject: `${label} vs ${peer.label}: ${opName(op)}`,
              status: 'n/a',
              value: `peer failed: ${peer.error}`,
            });
          }
          continue;
        }
        const missed = r >= 1;
        checks.push({
          target: 'faster-than-peer',
          backend: b.name,
          subject: `${label} vs ${peer.label}: ${opName(op)}`,
          status: missed ? 'missed' : 'met',
          value: `${r.toFixed(2)}× (${fmtMs(o!.stats!.p50Ms)} vs ${fmtMs(peer.stats!.p50Ms)})`,
          ...(missed ? { why: whyPeer(b.name, op, o!, peer) } : {}),
        });
      }
    }
    checks.push(...checkCatalog(b));
  }
  return checks;
}

/** Round trips (or driver calls) of a catalog figure, as text. */
export function countText(f: PageFigure | WriteFigure | undefined): string | undefined {
  if (f?.roundTrips) {
    const r = f.roundTrips;
    return r.min === r.max ? `${r.roundTrips} RT` : `${r.roundTrips} RT (${r.min}–${r.max})`;
  }
  if (f?.driverCalls !== undefined) return `${f.driverCalls} driver call${f.driverCalls === 1 ? '' : 's'}`;
  return undefined;
}

function checkCatalog(b: BackendResult): TargetCheck[] {
  const c = b.catalog;
  if (!c) return [];
  const checks: TargetCheck[] = [];
  const label = b.packageName;
  if (c.error && c.pages.length === 0) {
    checks.push({
      target: 'catalog-flat-page',
      backend: b.name,
      subject: label,
      status: 'n/a',
      value: `not measured: ${c.error}`,
    });
    return checks;
  }
  const largeSize = c.sizes.find((s) => s.store === 'large');
  const small = c.sizes.find((s) => s.store === 'small')?.seeded;
  const large = largeSize?.seeded;
  for (const kind of Object.keys(PAGE_LABEL) as PageFigure['kind'][]) {
    const s = c.pages.find((p) => p.kind === kind && p.store === 'small');
    const l = c.pages.find((p) => p.kind === kind && p.store === 'large');
    const subject = `${label}: ${PAGE_LABEL[kind]} at ${large?.toLocaleString('en-US')} ÷ ${small?.toLocaleString('en-US')} sessions`;
    if (!s?.stats || !l?.stats || large === undefined || small === undefined || large <= small) {
      checks.push({
        target: 'catalog-flat-page',
        backend: b.name,
        subject,
        status: 'n/a',
        value: `not measured${(l?.error ?? s?.error) ? `: ${l?.error ?? s?.error}` : ''}`,
      });
      continue;
    }
    const r = l.stats.p50Ms / s.stats.p50Ms;
    const [rtS, rtL] = [countText(s), countText(l)];
    const value = `${r.toFixed(2)}× (${fmtMs(l.stats.p50Ms)} vs ${fmtMs(s.stats.p50Ms)}${rtL ? `; ${rtS === rtL ? `${rtL} at both sizes` : `${rtL} vs ${rtS}`}` : ''})`;
    const missed = r > 1.5;
    const why = [
      explain(b.name, `catalog:${kind}`) ??
        explain(b.name, 'catalog') ??
        'the page does work that grows with the store',
      ...(largeSize?.truncated
        ? [
            `the large store holds ${large.toLocaleString('en-US')} of the ${largeSize.target.toLocaleString('en-US')} sessions asked for (seeding stopped at its time limit)`,
          ]
        : []),
    ].join('; ');
    checks.push({
      target: 'catalog-flat-page',
      backend: b.name,
      subject,
      status: missed ? 'missed' : 'met',
      value,
      ...(missed ? { why } : {}),
    });
  }
  const ours = c.write.find((w) => w.role === 'ours');
  const previous = c.write.find((w) => w.role === 'previous');
  const subject = `${label}: addItems(1) ÷ ${previous?.label ?? 'the previous release'}`;
  if (!ours?.stats || !previous?.stats) {
    checks.push({
      target: 'catalog-write-overhead',
      backend: b.name,
      subject,
      status: 'n/a',
      value: `not measured${(previous?.error ?? ours?.error) ? `: ${previous?.error ?? ours?.error}` : ''}`,
    });
  } else {
    const r = ours.stats.p50Ms / previous.stats.p50Ms;
    const [rtO, rtP] = [countText(ours), countText(previous)];
    const missed = r > 1.15;
    const parts = [explain(b.name, 'catalog:write') ?? 'the catalog bookkeeping costs more than the target allows'];
    if (rtO && rtP && rtO !== rtP) parts.push(`${rtO} against ${rtP} before`);
    parts.push(`${fmtUs((ours.stats.p50Ms - previous.stats.p50Ms) * 1000)} more per call`);
    checks.push({
      target: 'catalog-write-overhead',
      backend: b.name,
      subject,
      status: missed ? 'missed' : 'met',
      value: `${r.toFixed(2)}× (${fmtMs(ours.stats.p50Ms)} vs ${fmtMs(previous.stats.p50Ms)}${rtO ? `; ${rtO === rtP ? `${rtO} both` : `${rtO} vs ${rtP}`}` : ''})`,
      ...(missed ? { why: parts.join('; ') } : {}),
    });
  }
  return checks;
}

function whyOverhead(backend: string, op: OpResult, o: Measurement, raw: Measurement): string {
  const parts: string[] = [];
  const known = explain(backend, `overhead:${op.op}`);
  if (known) parts.push(known);
  const rtO = o.roundTrips?.roundTrips ?? o.driverCalls;
  const rtR = raw.roundTrips?.roundTrips ?? raw.driverCalls;
  if (rtO !== undefined && rtR !== undefined && rtO !== rtR) {
    parts.push(`${rtO} round trips (or driver calls) against the baseline's ${rtR}`);
  }
  const extra = o.stats!.p50Ms - raw.stats!.p50Ms;
  const items = op.op === 'getAll' ? op.history : op.op === 'getLast20' ? 20 : op.op === 'add10' ? 10 : 1;
  if (items && items > 1) parts.push(`${fmtUs((extra * 1000) / items)} more per item`);
  else parts.push(`${fmtUs(extra * 1000)} more per call`);
  return parts.join('; ');
}

function whyPeer(backend: string, op: OpResult, o: Measurement, peer: Measurement): string {
  const parts: string[] = [];
  const known = explain(backend, `peer:${op.op}`);
  if (known) parts.push(known);
  const rtO = o.roundTrips?.roundTrips;
  const rtP = peer.roundTrips?.roundTrips;
  if (rtO !== undefined && rtP !== undefined) parts.push(`round trips: ours ${rtO}, peer ${rtP}`);
  return parts.join('; ') || 'the peer does less work per call';
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}

export function fmtUs(us: number): string {
  return Math.abs(us) >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;
}
