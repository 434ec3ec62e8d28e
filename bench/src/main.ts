/**
 * `pnpm bench`: starts the servers, runs every backend's scenarios, writes
 * `results/latest.md`, `results/latest.json` and `results/latency-vs-history.svg`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ServiceName } from '@sessions/test-services';
import { BACKENDS, removeSqliteFiles } from './backends.ts';
import { renderChart } from './chart.ts';
import { loadConfig } from './config.ts';
import { averageItemBytes } from './items.ts';
import { updateReadme } from './readme.js';
import { buildReport, type RunPart, renderJson, renderMarkdown } from './report.ts';
import { type BackendResult, runBackend } from './scenarios.ts';
import { type BenchServer, startBenchServer } from './servers.ts';
import { describeError } from './timing.ts';

const config = loadConfig();
const started = new Date();
const t0 = performance.now();
const runId = `bench-${started.getTime().toString(36)}`;
const selected = BACKENDS.filter((b) => !config.backends || config.backends.includes(b.name));
const log = (message: string) => console.log(`[bench] ${message}`);

const servers = new Map<ServiceName, BenchServer>();
const serverErrors = new Map<ServiceName, string>();
let stopping: Promise<void> | undefined;
function stopServers(): Promise<void> {
  stopping ??= (async () => {
    await Promise.all([...servers.values()].map((s) => s.stop().catch(() => {})));
    removeSqliteFiles();
  })();
  return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the servers`);
    void stopServers().then(() => process.exit(130));
  });
}

try {
  log(`${config.quick ? 'quick smoke run' : 'full run'}: ${selected.map((b) => b.name).join(', ')}`);
  const needed = [...new Set(selected.flatMap((b) => (b.service ? [b.service] : [])))];
  await Promise.all(
    needed.map(async (name) => {
      const t = performance.now();
      try {
        const server = await startBenchServer(name);
        servers.set(name, server);
        log(`${name}: ${server.source} server ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      } catch (error) {
        serverErrors.set(name, describeError(error));
        log(`${name}: no server: ${describeError(error)}`);
      }
    }),
  );

  const results: BackendResult[] = [];
  for (const spec of selected) {
    const server = spec.service ? servers.get(spec.service) : undefined;
    if (spec.service && !server) {
      results.push({
        name: spec.name,
        packageName: spec.packageName,
        roundTripMethod: spec.roundTrips,
        subjects: [],
        ops: [],
        memory: [],
        concurrency: [],
        seconds: 0,
        error: `no ${spec.service} server: ${serverErrors.get(spec.service)}`,
      });
      continue;
    }
    log(`── ${spec.packageName}`);
    const result = await runBackend(spec, server, config, runId);
    log(`── ${spec.packageName} done in ${result.seconds.toFixed(1)} s`);
    results.push(result);
  }

  // BENCH_MERGE: the other backends come from the results already written (same kind of run only)
  const parts: RunPart[] = [];
  const keptServers: { name: string; source: string }[] = [];
  const previousFile = join(config.outDir, 'latest.json');
  if (config.merge && existsSync(previousFile)) {
    const earlier = JSON.parse(readFileSync(previousFile, 'utf8')) as {
      startedAt: string;
      seconds: number;
      config: { quick: boolean };
      backends: BackendResult[];
      servers: { name: string; source: string }[];
      parts?: RunPart[];
    };
    if (earlier.config.quick !== config.quick) {
      log(`not merging: ${previousFile} is a ${earlier.config.quick ? 'quick' : 'full'} run`);
    } else {
      const kept = earlier.backends.filter((b) => !selected.some((s) => s.name === b.name));
      const earlierParts = earlier.parts ?? [
        { startedAt: earlier.startedAt, seconds: earlier.seconds, backends: earlier.backends.map((b) => b.name) },
      ];
      for (const part of earlierParts) {
        const backends = part.backends.filter((name) => kept.some((b) => b.name === name));
        if (backends.length) parts.push({ ...part, backends });
      }
      const order = (name: string) => BACKENDS.findIndex((b) => b.name === name);
      results.push(...kept);
      results.sort((a, z) => order(a.name) - order(z.name));
      for (const server of earlier.servers) {
        if (!servers.has(server.name as ServiceName)) keptServers.push(server);
      }
      if (kept.length) log(`merged with ${previousFile}: kept ${kept.map((b) => b.name).join(', ')}`);
    }
  }
  // (BENCH_BACKENDS=none BENCH_MERGE=1 measures nothing and only renders the results again)
  if (parts.length && selected.length) {
    parts.push({
      startedAt: started.toISOString(),
      seconds: (performance.now() - t0) / 1000,
      backends: selected.map((b) => b.name),
    });
  }

  const cpu = cpus();
  const report = buildReport(
    {
      startedAt: parts[0]?.startedAt ?? started.toISOString(),
      seconds: parts.length ? parts.reduce((sum, p) => sum + p.seconds, 0) : (performance.now() - t0) / 1000,
      machine: {
        platform: `${platform()} ${release()}`,
        cpus: cpu.length,
        cpuModel: cpu[0]?.model.trim() ?? 'unknown CPU',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      itemBytes: averageItemBytes(),
      config,
      servers: [...[...servers.values()].map((s) => ({ name: s.name, source: s.source })), ...keptServers],
      ...(parts.length ? { parts } : {}),
    },
    results,
  );
  mkdirSync(config.outDir, { recursive: true });
  const md = renderMarkdown(report);
  writeFileSync(join(config.outDir, 'latest.md'), md);
  writeFileSync(join(config.outDir, 'latest.json'), renderJson(report));
  writeFileSync(
    join(config.outDir, 'latency-vs-history.svg'),
    renderChart(
      results,
      `${report.info.machine.cpus} × ${report.info.machine.cpuModel}, Node ${process.version}, ${started.toISOString().slice(0, 10)}${config.quick ? ' (quick run)' : ''}`,
    ),
  );
  if (!config.quick) {
    updateReadme(
      join(import.meta.dirname, '..', '..', 'README.md'),
      md,
      `Full run${parts.length ? ` (${parts.length} runs of a few backends each, merged)` : ''} of ${started.toISOString().slice(0, 10)}, ${report.info.machine.cpus} × ${report.info.machine.cpuModel}, Node ${process.version}; details, targets and the reasons for every miss in [bench/results/latest.md](bench/results/latest.md).`,
    );
  }
  console.log(`\n${md.slice(0, md.indexOf('\n## ', md.indexOf('## Targets') + 5))}`);
  log(
    `wrote ${join(config.outDir, 'latest.md')}, latest.json and latency-vs-history.svg in ${report.info.seconds.toFixed(0)} s`,
  );
} finally {
  await stopServers();
}
