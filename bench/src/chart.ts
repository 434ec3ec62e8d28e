/**
 * `latency-vs-history.svg`, written by hand (no dependency): p50 latency of our `getItems(20)`
 * (solid) and `getItems()` (dashed) against history length, one colour per backend, both axes
 * logarithmic.
 */
import type { BackendResult } from './scenarios.ts';

const COLORS: Record<string, string> = {
  memory: '#7f7f7f',
  sqlite: '#1f77b4',
  redis: '#d62728',
  postgres: '#9467bd',
  mongo: '#2ca02c',
  dynamodb: '#ff7f0e',
};
const FALLBACK = ['#8c564b', '#e377c2', '#17becf', '#bcbd22'];

interface Series {
  backend: string;
  kind: 'limit' | 'full';
  points: { x: number; y: number }[];
}

export function renderChart(backends: BackendResult[], subtitle: string): string {
  const series: Series[] = [];
  for (const b of backends) {
    for (const kind of ['limit', 'full'] as const) {
      const points = b.ops
        .filter((o) => o.op === (kind === 'limit' ? 'getLast20' : 'getAll') && o.history !== undefined)
        .map((o) => ({ x: o.history!, y: o.measurements.find((m) => m.role === 'ours')?.stats?.p50Ms }))
        .filter((p): p is { x: number; y: number } => p.y !== undefined && p.y > 0)
        .sort((a, c) => a.x - c.x);
      if (points.length > 0) series.push({ backend: b.name, kind, points });
    }
  }

  const width = 860;
  const height = 520;
  const margin = { left: 80, right: 190, top: 60, bottom: 60 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const xMin = Math.min(...xs, 10);
  const xMax = Math.max(...xs, 100);
  const yLo = Math.floor(Math.log10(Math.min(...ys, 0.01)));
  const yHi = Math.ceil(Math.log10(Math.max(...ys, 1)));
  const lx = (x: number) =>
    margin.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotW;
  const ly = (y: number) => margin.top + plotH - ((Math.log10(y) - yLo) / (yHi - yLo)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin.left}" y="26" font-size="16" font-weight="bold">Read latency against history length (p50, log–log)</text>`,
    `<text x="${margin.left}" y="44" fill="#555">${escapeXml(subtitle)}</text>`,
  );
  // grid and y labels (decades)
  for (let e = yLo; e <= yHi; e++) {
    const y = ly(10 ** e).toFixed(1);
    out.push(`<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${margin.left - 8}" y="${(ly(10 ** e) + 4).toFixed(1)}" text-anchor="end" fill="#333">${fmtTick(10 ** e)} ms</text>`,
    );
  }
  // x ticks: the measured history lengths
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    const px = lx(x).toFixed(1);
    out.push(`<line x1="${px}" y1="${margin.top}" x2="${px}" y2="${margin.top + plotH}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${px}" y="${margin.top + plotH + 18}" text-anchor="middle" fill="#333">${x.toLocaleString('en-US')}</text>`,
    );
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 16}" text-anchor="middle" fill="#333">items in the history</text>`,
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">p50 latency</text>`,
  );
  const names = [...new Set(series.map((s) => s.backend))];
  const color = (name: string) => COLORS[name] ?? FALLBACK[names.indexOf(name) % FALLBACK.length]!;
  for (const s of series) {
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${lx(p.x).toFixed(1)},${ly(p.y).toFixed(1)}`).join(' ');
    const dash = s.kind === 'full' ? ' stroke-dasharray="6 4"' : '';
    out.push(`<path d="${d}" fill="none" stroke="${color(s.backend)}" stroke-width="2"${dash}/>`);
    for (const p of s.points) {
      out.push(
        `<circle cx="${lx(p.x).toFixed(1)}" cy="${ly(p.y).toFixed(1)}" r="3" fill="${s.kind === 'full' ? '#fff' : color(s.backend)}" stroke="${color(s.backend)}" stroke-width="1.5"><title>${escapeXml(`${s.backend} ${s.kind === 'limit' ? 'getItems(20)' : 'getItems()'} @ ${p.x}: ${p.y.toFixed(3)} ms`)}</title></circle>`,
      );
    }
  }
  // legend
  let y = margin.top + 6;
  const x0 = margin.left + plotW + 18;
  out.push(`<text x="${x0}" y="${y}" font-weight="bold">backend</text>`);
  for (const name of names) {
    y += 20;
    out.push(`<line x1="${x0}" y1="${y - 4}" x2="${x0 + 26}" y2="${y - 4}" stroke="${color(name)}" stroke-width="3"/>`);
    out.push(`<text x="${x0 + 34}" y="${y}">${escapeXml(name)}</text>`);
  }
  y += 32;
  out.push(`<line x1="${x0}" y1="${y - 4}" x2="${x0 + 26}" y2="${y - 4}" stroke="#333" stroke-width="2"/>`);
  out.push(`<text x="${x0 + 34}" y="${y}">getItems(20)</text>`);
  y += 20;
  out.push(
    `<line x1="${x0}" y1="${y - 4}" x2="${x0 + 26}" y2="${y - 4}" stroke="#333" stroke-width="2" stroke-dasharray="6 4"/>`,
  );
  out.push(`<text x="${x0 + 34}" y="${y}">getItems() (all)</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function fmtTick(v: number): string {
  return v >= 1 ? v.toLocaleString('en-US') : String(Number(v.toPrecision(1)));
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
