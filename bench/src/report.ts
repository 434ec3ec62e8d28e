/**
 * `latest.md` (summary table, targets, one detailed table per backend, memory, concurrency,
 * failures, method) and `latest.json` (everything measured).
 */
import { PAGE_LABEL, type PageFigure, type WriteFigure } from './catalog.ts';
import type { BenchConfig } from './config.ts';
import type { BackendResult, Measurement, OpResult } from './scenarios.ts';
import { checkTargets, countText, fmtMs, opName, ratio, TARGET_TEXT, type TargetCheck } from './targets.ts';

export interface RunInfo {
  startedAt: string;
  seconds: number;
  machine: { platform: string; cpus: number; cpuModel: string; memoryGiB: number; node: string };
  itemBytes: number;
  config: BenchConfig;
  servers: { name: string; source: string }[];
  /** Set when the results merge runs of a few backends each (`BENCH_MERGE=1`). */
  parts?: RunPart[];
}

export interface RunPart {
  startedAt: string;
  seconds: number;
  backends: string[];
}

export interface Report {
  info: RunInfo;
  backends: BackendResult[];
  targets: TargetCheck[];
}

export function buildReport(info: RunInfo, backends: BackendResult[]): Report {
  return { info, backends, targets: checkTargets(backends, info.config.historyLengths) };
}

export function renderJson(report: Report): string {
  const { config, ...info } = report.info;
  return `${JSON.stringify({ ...info, config: { ...config, outDir: undefined }, backends: report.backends, targets: report.targets }, null, 2)}\n`;
}

const ours = (op: OpResult | undefined) => op?.measurements.find((m) => m.role === 'ours');
const raw = (op: OpResult | undefined) => op?.measurements.find((m) => m.role === 'raw');

function rt(m: Measurement | undefined, method: BackendResult['roundTripMethod']): string {
  if (!m) return '';
  if (method === 'in-process')
    return m.driverCalls === undefined
      ? 'in-process'
      : `in-process (${m.driverCalls} call${m.driverCalls === 1 ? '' : 's'})`;
  if (m.roundTrips) {
    const r = m.roundTrips;
    return r.min === r.max ? String(r.roundTrips) : `${r.roundTrips} (${r.min}–${r.max})`;
  }
  return m.roundTripError ? 'not counted' : '';
}

function latency(m: Measurement | undefined): string {
  if (!m) return '–';
  if (m.error) return 'failed¹';
  if (!m.stats) return '–';
  return `${fmtMs(m.stats.p50Ms)} / ${fmtMs(m.stats.p99Ms)}`;
}

function x(r: number | undefined): string {
  return r === undefined ? '–' : `${r.toFixed(2)}×`;
}

export function renderMarkdown(report: Report): string {
  const { info, backends, targets } = report;
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  const c = info.config;
  const longest = Math.max(...c.historyLengths);
  const shortest = Math.min(...c.historyLengths);
  push(
    '# Benchmark results',
    '',
    `Run ${info.startedAt} · ${c.quick ? '**quick smoke run** (BENCH_QUICK=1, few iterations: not for comparison)' : 'full run'} · ${info.seconds.toFixed(0)} s · ` +
      `${info.machine.cpus} × ${info.machine.cpuModel}, ${info.machine.memoryGiB} GiB, ${info.machine.platform}, Node ${info.machine.node}.`,
    ...(info.parts
      ? [
          `Merged from ${info.parts.length} runs (\`BENCH_MERGE=1\`): ${info.parts.map((p) => `${p.backends.join(', ')} at ${p.startedAt} (${p.seconds.toFixed(0)} s)`).join('; ')}.`,
        ]
      : []),
    `Servers: ${info.servers.map((s) => `${s.name} (${s.source})`).join(', ') || 'none'}. Items average ${info.itemBytes} bytes of JSON ` +
      '(user message, assistant message, function call, function call result). Latencies are p50 / p99 of sequential calls from one ' +
      'client; **ratios are the headline** — absolute times on a shared 2-core machine are noisy.',
    '',
    '## Summary',
    '',
    `| backend | addItems(10) p50 · round trips | getItems(20) @ ${k(longest)} p50 · round trips | getItems(20) ${k(longest)} ÷ ${k(shortest)} | ours ÷ raw driver (median · worst op) | ours ÷ peer (worst native op) | peak heap reading ${k(longest)} (ours · raw · peer) | ${c.concurrency.sessions} × ${c.concurrency.writers} writers: items/s · lost |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const b of backends) {
    if (b.error) {
      push(`| ${b.name} | not run: ${escapeCell(b.error)} | | | | | | |`);
      continue;
    }
    const find = (op: string, history?: number) => b.ops.find((o) => o.op === op && o.history === history);
    const add10 = find('add10');
    const g20long = find('getLast20', longest);
    const g20short = find('getLast20', shortest);
    const rawRatios = b.ops
      .map((op) => ({ op, r: ratio(ours(op), raw(op)) }))
      .filter((e): e is { op: OpResult; r: number } => e.r !== undefined);
    const sorted = rawRatios.map((e) => e.r).sort((a, z) => a - z);
    const worstRaw = rawRatios.reduce<{ op: OpResult; r: number } | undefined>(
      (w, e) => (!w || e.r > w.r ? e : w),
      undefined,
    );
    const medianRaw = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined;
    const peerCells: string[] = [];
    const peerLabels = [
      ...new Set(b.ops.flatMap((o) => o.measurements.filter((m) => m.role === 'peer').map((m) => m.label))),
    ];
    for (const label of peerLabels) {
      let worst: { op: OpResult; r: number } | undefined;
      for (const op of b.ops) {
        const peer = op.measurements.find((m) => m.label === label);
        if (peer?.support !== 'native') continue;
        const r = ratio(ours(op), peer);
        if (r !== undefined && (!worst || r > worst.r)) worst = { op, r };
      }
      peerCells.push(worst ? `${x(worst.r)} ${opName(worst.op)} (${shortPeer(label)})` : `– (${shortPeer(label)})`);
    }
    const heap = (role: string) => b.memory.find((m) => m.role === role);
    const heapCell = ['ours', 'raw', 'peer']
      .map((role) => {
        const m = heap(role);
        if (!m) return '–';
        return m.heap ? `${m.heap.peakHeapMiB.toFixed(1)}` : 'failed';
      })
      .join(' · ');
    const conc = b.concurrency.find((e) => e.role === 'ours');
    const concCell = conc?.result
      ? `${Math.round(conc.result.itemsPerSec).toLocaleString('en-US')} · ${conc.result.lost}${conc.result.failedCalls ? ` (${conc.result.failedCalls} calls failed)` : ''}`
      : conc?.error
        ? 'failed'
        : '–';
    push(
      `| ${b.packageName} | ${fmtP50(ours(add10))} · ${rt(ours(add10), b.roundTripMethod)} | ${fmtP50(ours(g20long))} · ${rt(ours(g20long), b.roundTripMethod)} | ${x(ratio(ours(g20long), ours(g20short)))} | ${medianRaw === undefined ? '–' : `${x(medianRaw)} · ${x(worstRaw!.r)} ${opName(worstRaw!.op)}`} | ${peerCells.join('; ') || '–'} | ${heapCell} MiB | ${concCell} |`,
    );
  }

  const catalogLine = renderCatalogLine(backends);
  if (catalogLine) push('', catalogLine);

  push('', '## Targets', '');
  for (const target of Object.keys(TARGET_TEXT) as TargetCheck['target'][]) {
    const checks = targets.filter((t) => t.target === target);
    const met = checks.filter((t) => t.status === 'met').length;
    const missed = checks.filter((t) => t.status === 'missed');
    const na = checks.filter((t) => t.status === 'n/a');
    push(
      `- **${TARGET_TEXT[target]}**: ${missed.length === 0 ? '✅ met' : '❌ missed'} (${met} met, ${missed.length} missed${na.length ? `, ${na.length} not applicable` : ''}).`,
    );
    for (const t of missed) push(`  - ❌ ${t.subject}: ${t.value}. Why: ${t.why ?? 'unknown'}.`);
    for (const t of na) push(`  - n/a ${t.subject}: ${t.value}.`);
    if (
      target === 'flat-limit-read' ||
      target === 'add10-round-trips' ||
      target === 'catalog-flat-page' ||
      target === 'catalog-write-overhead'
    ) {
      for (const t of checks.filter((t) => t.status === 'met')) push(`  - ✅ ${t.subject}: ${t.value}.`);
    }
  }

  push(...renderCatalog(backends, c));

  for (const b of backends) {
    push('', `## ${b.packageName}`, '');
    if (b.server) push(`Server: ${b.server.source} at \`${b.server.url}\`. `);
    push(
      b.roundTripMethod === 'proxy'
        ? 'Round trips (RT) counted by the loopback proxy.'
        : 'In-process: no network round trips; the figure in brackets is calls into the driver where it can be counted.',
    );
    const unavailable = b.subjects.filter((s) => s.error);
    for (const s of unavailable) push('', `- **${s.label}** could not run: ${s.error}`);
    if (b.error) continue;
    const columns = [...new Set(b.ops.flatMap((o) => o.measurements.map((m) => m.label)))];
    const roleOf = (label: string) => b.ops.flatMap((o) => o.measurements).find((m) => m.label === label)?.role;
    const header = ['operation'];
    for (const label of columns) {
      const role = roleOf(label);
      header.push(`${label} p50 / p99`, 'ops/s', 'RT');
      if (role !== 'ours') header.push('ours ÷ this');
    }
    push('', `| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`);
    const footnotes: string[] = [];
    for (const op of b.ops) {
      const row = [opName(op)];
      for (const label of columns) {
        const m = op.measurements.find((e) => e.label === label);
        const role = roleOf(label);
        let cell = latency(m);
        if (m?.support === 'emulated') cell += ' ²';
        if (m?.error) footnotes.push(`${label}, ${opName(op)}: ${m.error}`);
        row.push(
          cell,
          m?.stats ? Math.round(m.stats.opsPerSec).toLocaleString('en-US') : '–',
          rt(m, b.roundTripMethod) || '–',
        );
        if (role !== 'ours') row.push(m ? x(ratio(ours(op), m)) : '–');
      }
      push(`| ${row.map(escapeCell).join(' | ')} |`);
    }
    const n = b.ops.map((o) => ours(o)?.stats?.n ?? 0);
    push('', `Samples per figure (ours): ${Math.min(...n)}–${Math.max(...n)} after warm-up.`);
    if (b.ops.some((o) => o.measurements.some((m) => m.support === 'emulated'))) {
      const how = b.ops.flatMap((o) => o.measurements).find((m) => m.support === 'emulated')?.supportNote;
      push(
        `² emulated, not supported by the peer's API (${how}); shown for information, not counted against a target.`,
      );
    }
    if (footnotes.length) {
      push('', '¹ failures:');
      for (const f of [...new Set(footnotes)]) push(`- ${escapeCell(f)}`);
    }

    push(
      '',
      `**Peak heap while reading the ${longest.toLocaleString('en-US')}-item history** (\`getItems()\`; MiB above a collected heap):`,
      '',
    );
    push('| subject | peak heap | held by the result | peak outside the heap (buffers) |', '| --- | --- | --- | --- |');
    for (const m of b.memory) {
      push(
        m.heap
          ? `| ${m.label} | ${m.heap.peakHeapMiB.toFixed(1)} | ${m.heap.retainedHeapMiB.toFixed(1)} | ${m.heap.peakExternalMiB.toFixed(1)} |`
          : `| ${m.label} | failed: ${escapeCell(m.error ?? '')} | | |`,
      );
    }

    const conc = b.concurrency;
    if (conc.length) {
      const cc = c.concurrency;
      push(
        '',
        `**Concurrency**: ${cc.sessions} sessions × ${cc.writers} concurrent writers, each up to ${cc.rounds} calls of ${cc.batchSize} items (no new call after ${cc.deadlineMs / 1000} s); then every session is read back and checked item by item.`,
        '',
        '| subject | items/s | calls made | items written | lost | duplicated | batches not contiguous | writers reordered | failed calls |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      );
      for (const e of conc) {
        const r = e.result;
        push(
          r
            ? `| ${e.label} | ${Math.round(r.itemsPerSec).toLocaleString('en-US')} | ${r.calls}${r.skippedCalls ? ` (${r.skippedCalls} not started)` : ''} | ${r.itemsWritten} | ${r.lost} | ${r.duplicated} | ${r.brokenBatches} | ${r.reorderedWriters} | ${r.failedCalls}${r.firstError ? ` (${escapeCell(r.firstError)})` : ''} |`
            : `| ${e.label} | failed: ${escapeCell(e.error ?? '')} | | | | | | | |`,
        );
      }
    }
  }

  push('', '## Method', '');
  push(
    `- Each figure: ${c.fast.warmup} warm-up calls, then at least ${c.fast.minIterations} timed calls and about ${c.fast.budgetMs} ms of calls per subject ` +
      `(whole reads of 1,000+ items: ${c.slow.warmup} warm-up, at least ${c.slow.minIterations}, ~${c.slow.budgetMs} ms). Ours, the raw baseline and the peers take turns in short ` +
      'chunks so that drift on the machine affects them alike. Adds append to a fresh session; reads use histories seeded before timing; pops drain a seeded session.',
    '- Round trips: a counting TCP proxy on 127.0.0.1 sits in front of each server; a second set of clients connects through it ' +
      '(timings use direct connections). A round trip is a burst of client→server writes answered by the server; the median of ' +
      `${c.roundTrips.samples} isolated calls after ${c.roundTrips.warmup} warm-up calls is shown (a range when they differ). SQLite on a local file is in-process: calls into \`@libsql/client\` are shown instead.`,
    '- Raw baselines use the same driver, the same server and (where the layout allows) the same rows our store wrote, and do the least work that gives the same result ' +
      'in the same number of round trips (see `bench/src/baselines/`). Peers run on the same servers, used as their documentation shows.',
    `- Peak heap: V8's own GC profile (heap size before each collection) plus the size at the end, above a heap collected just before; median of ${c.heapRuns} run(s).`,
    `- Concurrency: ${c.concurrency.sessions} sessions × ${c.concurrency.writers} writers × up to ${c.concurrency.rounds} calls of ${c.concurrency.batchSize} items (no new call after ${c.concurrency.deadlineMs / 1000} s); items/s over wall time; then everything is read back and checked item by item.`,
    `- Catalog: each store size is a namespace of its own (tables, key prefix, collections, DynamoDB table, SQLite file), seeded through our store by ${c.catalog.seedConcurrency} concurrent writers (one item per session, every 10th session labelled \`{ tenant: 'acme' }\` by \`updateMetadata\`), at most ${c.catalog.seedDeadlineMs / 1000} s per store; SQLite seeds with \`synchronous = OFF\` (the PostgreSQL test server already runs with fsync off). ` +
      'The three pages at both sizes are timed in one round-robin like every other figure; page 20 re-reads the page after the cursor of page 19. ' +
      'The write path: `addItems(1)` of our store, of the previous release of the same package (its source at the commit before its catalog commit, bundled with the core of that commit, in a namespace of its own on the same server) and of the raw baseline, timed turn by turn; ours ÷ previous is what the catalog adds.',
  );
  return `${lines.join('\n')}\n`;
}

function catalogRatio(a: { stats?: { p50Ms: number } } | undefined, b: { stats?: { p50Ms: number } } | undefined) {
  return a?.stats && b?.stats && b.stats.p50Ms > 0 ? a.stats.p50Ms / b.stats.p50Ms : undefined;
}

/** Sessions in the small and the large store (as seeded). */
function catalogSizes(b: BackendResult): [number | undefined, number | undefined] {
  const seeded = (store: string) => b.catalog?.sizes.find((s) => s.store === store)?.seeded;
  return [seeded('small'), seeded('large')];
}

/** One line under the summary table (the README shows it too). */
function renderCatalogLine(backends: BackendResult[]): string | undefined {
  const cells: string[] = [];
  for (const b of backends) {
    const cat = b.catalog;
    if (!cat) continue;
    const [small, large] = catalogSizes(b);
    const page = (store: string) => cat.pages.find((p) => p.kind === 'first' && p.store === store);
    const list = catalogRatio(page('large'), page('small'));
    const write = catalogRatio(
      cat.write.find((w) => w.role === 'ours'),
      cat.write.find((w) => w.role === 'previous'),
    );
    const l = page('large');
    cells.push(
      `${b.name} ${x(list)}${large === undefined || small === undefined ? '' : ` (${k(large)} ÷ ${k(small)}${l?.stats ? `: ${fmtMs(l.stats.p50Ms)}${countText(l) ? `, ${countText(l)}` : ''}` : ''})`} · ${x(write)}`,
    );
  }
  if (cells.length === 0) return undefined;
  return `**Session catalog** — \`listSessions({ limit: 50 })\` p50 on the large store ÷ on the small one (sessions; p50 and round trips on the large one) · \`addItems(1)\` with the catalog ÷ the release before it: ${cells.join('; ')}. Targets ≤ 1.5× and ≤ 1.15×; details under Catalog in [bench/results/latest.md](bench/results/latest.md).`;
}

function pageCell(f: PageFigure | undefined): string {
  if (!f) return '–';
  if (f.error) return `failed: ${escapeCell(f.error)}`;
  if (!f.stats) return '–';
  const n = countText(f);
  return `${fmtMs(f.stats.p50Ms)} / ${fmtMs(f.stats.p99Ms)}${n ? ` · ${n}` : ''}${f.returned !== undefined && f.returned !== 50 ? ` · ${f.returned} listed` : ''}`;
}

function writeCell(f: WriteFigure | undefined): string {
  if (!f) return '–';
  if (f.error) return `failed: ${escapeCell(f.error)}`;
  if (!f.stats) return '–';
  const n = countText(f);
  return `${fmtMs(f.stats.p50Ms)} / ${fmtMs(f.stats.p99Ms)}${n ? ` · ${n}` : ''}`;
}

function renderCatalog(backends: BackendResult[], c: BenchConfig): string[] {
  const withCatalog = backends.filter((b) => b.catalog);
  if (withCatalog.length === 0) return [];
  const lines: string[] = [
    '',
    '## Catalog',
    '',
    `\`listSessions\` pages of 50 on a store of ${c.catalog.small.toLocaleString('en-US')} sessions and on a large one (${c.catalog.large.toLocaleString('en-US')} asked for; the size reached is shown), p50 / p99 · round trips (SQLite: calls into the driver; in-memory: none). ` +
      "Every 10th session is labelled `{ tenant: 'acme' }`: the filtered page asks for those.",
    '',
    '| backend | page | small store p50 / p99 | large store p50 / p99 | large ÷ small |',
    '| --- | --- | --- | --- | --- |',
  ];
  const notes: string[] = [];
  for (const b of withCatalog) {
    const cat = b.catalog!;
    const [small, large] = catalogSizes(b);
    if (cat.pages.length === 0) {
      lines.push(`| ${b.packageName} | not measured: ${escapeCell(cat.error ?? 'no figures')} | | | |`);
      continue;
    }
    for (const kind of Object.keys(PAGE_LABEL) as PageFigure['kind'][]) {
      const s = cat.pages.find((p) => p.kind === kind && p.store === 'small');
      const l = cat.pages.find((p) => p.kind === kind && p.store === 'large');
      lines.push(
        `| ${kind === 'first' ? b.packageName : ''} | ${PAGE_LABEL[kind]} | ${small === undefined ? '' : `${k(small)}: `}${pageCell(s)} | ${large === undefined ? '' : `${k(large)}: `}${pageCell(l)} | ${x(catalogRatio(l, s))} |`,
      );
    }
    for (const size of cat.sizes) {
      notes.push(
        `${b.packageName}: ${size.seeded.toLocaleString('en-US')} of ${size.target.toLocaleString('en-US')} sessions seeded in ${size.seconds.toFixed(1)} s` +
          `${size.truncated ? ' (stopped at the time limit)' : ''}${size.failedWrites ? `, ${size.failedWrites} writes failed (${escapeCell(size.firstError ?? '')})` : ''}`,
      );
    }
    if (cat.error) notes.push(`${b.packageName}: ${escapeCell(cat.error)}`);
  }
  lines.push('', 'Seeding:', ...notes.map((n) => `- ${n}`));

  lines.push(
    '',
    '**What the catalog adds to `addItems(1)`**: our store against the previous release of the same package (before its catalog commit) and the raw baseline, timed turn by turn on the same server; p50 / p99 · round trips.',
    '',
    '| backend | ours | previous release | raw baseline | ours ÷ previous (the catalog) | ours ÷ raw | previous ÷ raw |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  const releases: string[] = [];
  for (const b of withCatalog) {
    const w = b.catalog!.write;
    const f = (role: WriteFigure['role']) => w.find((e) => e.role === role);
    lines.push(
      `| ${b.packageName} | ${writeCell(f('ours'))} | ${writeCell(f('previous'))} | ${f('raw') ? writeCell(f('raw')) : 'none'} | ${x(catalogRatio(f('ours'), f('previous')))} | ${x(catalogRatio(f('ours'), f('raw')))} | ${x(catalogRatio(f('previous'), f('raw')))} |`,
    );
    if (b.catalog!.previous) releases.push(`${b.packageName}: ${b.catalog!.previous.label}`);
  }
  if (releases.length) lines.push('', 'Previous releases:', ...releases.map((r) => `- ${r}`));
  return lines;
}

/** 10 → "10", 10000 → "10k", 2738 → "2,738". */
function k(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : n.toLocaleString('en-US');
}

function fmtP50(m: Measurement | undefined): string {
  return m?.stats ? fmtMs(m.stats.p50Ms) : m?.error ? 'failed' : '–';
}

function shortPeer(label: string): string {
  return label.replace('ChatMessageHistory', '').replace('Agents SDK ', 'SDK ');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
