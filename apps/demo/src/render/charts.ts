/**
 * report.html's charts as inline SVG drawn here (no script, no external resource): time-series
 * line charts over the run, and the latency histogram's bar chart.
 */
import { fmt } from '../format.js';
import { esc } from './escape.js';

export interface Series {
  name: string;
  color: string;
  values: Array<number | null>;
  /** Fill the area under the line. */
  area?: boolean;
}

/** 1, 2, 5 × 10^k ticks covering [0, max]. */
function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

const short = (v: number) =>
  v >= 1e6
    ? `${+(v / 1e6).toFixed(1)}M`
    : v >= 1e3
      ? `${+(v / 1e3).toFixed(1)}k`
      : String(+v.toFixed(2));

/** At most `max` points per series: each kept point is the largest of its bucket (peaks survive). */
function downsample(t: number[], series: Series[], max = 800): { t: number[]; series: Series[] } {
  if (t.length <= max) return { t, series };
  const stride = Math.ceil(t.length / max);
  const nt: number[] = [];
  for (let i = 0; i < t.length; i += stride) nt.push(t[Math.min(t.length - 1, i + stride - 1)]!);
  return {
    t: nt,
    series: series.map((s) => {
      const v: Array<number | null> = [];
      for (let i = 0; i < s.values.length; i += stride) {
        let m: number | null = null;
        for (let k = i; k < Math.min(s.values.length, i + stride); k++) {
          const x = s.values[k];
          if (x !== null && x !== undefined && (m === null || x > m)) m = x;
        }
        v.push(m);
      }
      return { ...s, values: v };
    }),
  };
}

const W = 720;

/** A chart's plot area: the margins, and value → pixel scales. */
interface Plot {
  H: number;
  m: { l: number; r: number; t: number; b: number };
  ph: number;
  x: (ms: number) => number;
  y: (v: number) => number;
}

function plot(H: number, m: Plot['m'], xMax: number, yTop: number): Plot {
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  return { H, m, ph, x: (ms) => m.l + (ms / xMax) * pw, y: (v) => m.t + ph - (v / yTop) * ph };
}

/** The <svg> element's opening, the title and the horizontal grid with its labels. */
function frame(id: string, title: string, p: Plot, yTicks: number[]): string[] {
  const { H, m, y } = p;
  const parts = [
    `<svg class="chart" id="${esc(id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<text x="${m.l}" y="20" class="ct">${esc(title)}</text>`,
  ];
  for (const v of yTicks) {
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`,
    );
    parts.push(
      `<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" class="yl">${esc(short(v))}</text>`,
    );
  }
  return parts;
}

const baseline = ({ m, ph }: Plot) =>
  `<line x1="${m.l}" x2="${W - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" class="axis"/>`;

/** The time axis: ticks in seconds, and both axis titles. */
function timeAxis(p: Plot, tMax: number, unit: string): string[] {
  const { H, m, ph, x } = p;
  const parts: string[] = [];
  for (const s of niceTicks(tMax / 1000, 8).filter((s) => s * 1000 <= tMax)) {
    parts.push(
      `<line x1="${x(s * 1000).toFixed(1)}" x2="${x(s * 1000).toFixed(1)}" y1="${m.t + ph}" y2="${m.t + ph + 4}" class="axis"/>`,
    );
    parts.push(
      `<text x="${x(s * 1000).toFixed(1)}" y="${m.t + ph + 17}" class="xl">${esc(short(s))}s</text>`,
    );
  }
  parts.push(`<text x="${W - m.r}" y="${H - 6}" class="xt">time since the crowd started</text>`);
  parts.push(
    `<text x="14" y="${m.t + ph / 2}" class="yt" transform="rotate(-90 14 ${m.t + ph / 2})">${esc(unit)}</text>`,
  );
  return parts;
}

/** Vertical dashed marks with labels (right of the line, or left of it near the right edge). */
function markLines(p: Plot, tMax: number, marks: Array<{ t: number; label: string }>): string[] {
  const { m, ph, x } = p;
  const parts: string[] = [];
  marks.forEach((mk, i) => {
    if (mk.t < 0 || mk.t > tMax) return;
    // Stacked so the labels never collide.
    const right = x(mk.t) < W - m.r - 120;
    const lx = right ? x(mk.t) + 4 : x(mk.t) - 4;
    parts.push(
      `<line x1="${x(mk.t).toFixed(1)}" x2="${x(mk.t).toFixed(1)}" y1="${m.t}" y2="${m.t + ph}" class="mark"/>`,
    );
    parts.push(
      `<text x="${lx.toFixed(1)}" y="${m.t + 11 + i * 12}" class="ml" text-anchor="${right ? 'start' : 'end'}">${esc(mk.label)}</text>`,
    );
  });
  return parts;
}

/** One series as a path (broken at nulls), with its area when asked. */
function seriesPath(p: Plot, t: number[], s: Series): string[] {
  const { x, y } = p;
  let d = '';
  let pen = false;
  s.values.forEach((v, i) => {
    if (v === null || v === undefined) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${x(t[i]!).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  if (!d) return [];
  const parts: string[] = [];
  if (s.area) {
    const first = s.values.findIndex((v) => v !== null);
    let last = s.values.length - 1;
    while (last > 0 && s.values[last] === null) last--;
    parts.push(
      `<path class="area" d="${d}L${x(t[last]!).toFixed(1)},${y(0)}L${x(t[first]!).toFixed(1)},${y(0)}Z" fill="${s.color}"/>`,
    );
  }
  parts.push(
    `<path class="series" data-series="${esc(s.name)}" d="${d}" stroke="${s.color}"><title>${esc(s.name)}</title></path>`,
  );
  return parts;
}

function legend(p: Plot, series: Series[]): string[] {
  let lx = p.m.l;
  return series.map((s) => {
    const item = `<rect x="${lx}" y="31" width="12" height="4" fill="${s.color}"/><text x="${lx + 16}" y="36" class="lg">${esc(s.name)}</text>`;
    lx += 30 + s.name.length * 6.2;
    return item;
  });
}

export function lineChart(opts: {
  id: string;
  title: string;
  unit: string;
  t: number[];
  series: Series[];
  marks?: Array<{ t: number; label: string }>;
}): string {
  const { t, series } = downsample(opts.t, opts.series);
  const tMax = Math.max(1, t[t.length - 1] ?? 1);
  const vMax = Math.max(
    0,
    ...series.flatMap((s) => s.values.filter((v): v is number => v !== null)),
  );
  const yTicks = niceTicks(vMax || 1);
  const p = plot(280, { l: 64, r: 16, t: 52, b: 40 }, tMax, yTicks[yTicks.length - 1]!);
  return [
    ...frame(opts.id, opts.title, p, yTicks),
    ...timeAxis(p, tMax, opts.unit),
    ...markLines(p, tMax, opts.marks ?? []),
    ...series.flatMap((s) => seriesPath(p, t, s)),
    baseline(p),
    ...legend(p, series),
    '</svg>',
  ].join('');
}

export function barChart(opts: {
  id: string;
  title: string;
  bars: Array<{ label: string; value: number }>;
}): string {
  const vMax = Math.max(1, ...opts.bars.map((b) => b.value));
  const ticks = niceTicks(vMax);
  const top = ticks[ticks.length - 1]!;
  const p = plot(240, { l: 64, r: 16, t: 34, b: 40 }, 1, top);
  const { m, ph } = p;
  const bw = (W - m.l - m.r) / Math.max(1, opts.bars.length);
  const bars = opts.bars.flatMap((b, i) => {
    const h = (b.value / top) * ph;
    return [
      `<rect class="bar" x="${(m.l + i * bw + 3).toFixed(1)}" y="${(m.t + ph - h).toFixed(1)}" width="${(bw - 6).toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(`${b.label}: ${fmt(b.value)}`)}</title></rect>`,
      `<text x="${(m.l + i * bw + bw / 2).toFixed(1)}" y="${m.t + ph + 16}" class="xl">${esc(b.label)}</text>`,
    ];
  });
  return [...frame(opts.id, opts.title, p, ticks), ...bars, baseline(p), '</svg>'].join('');
}
