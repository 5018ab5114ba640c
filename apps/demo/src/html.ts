/**
 * report.html: one self-contained page (inline CSS, charts as inline SVG drawn here, no
 * script, no external resource — a Content-Security-Policy forbids any), so it opens offline
 * and can be attached to a ticket as is.
 */
import type { DemoReport, SkuLine } from './report.js';
import { fmt, msText, secs } from './stats.js';

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

interface Series {
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

export function lineChart(opts: {
  id: string;
  title: string;
  unit: string;
  t: number[];
  series: Series[];
  marks?: Array<{ t: number; label: string }>;
}): string {
  const W = 720;
  const H = 280;
  const m = { l: 64, r: 16, t: 52, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const { t, series } = downsample(opts.t, opts.series);
  const tMax = Math.max(1, t[t.length - 1] ?? 1);
  const vMax = Math.max(
    0,
    ...series.flatMap((s) => s.values.filter((v): v is number => v !== null)),
  );
  const yTicks = niceTicks(vMax || 1);
  const yTop = yTicks[yTicks.length - 1]!;
  const xTicks = niceTicks(tMax / 1000, 8).filter((s) => s * 1000 <= tMax);
  const x = (ms: number) => m.l + (ms / tMax) * pw;
  const y = (v: number) => m.t + ph - (v / yTop) * ph;
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" id="${esc(opts.id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(opts.title)}" xmlns="http://www.w3.org/2000/svg">`,
  );
  parts.push(`<text x="${m.l}" y="20" class="ct">${esc(opts.title)}</text>`);
  for (const v of yTicks) {
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`,
    );
    parts.push(
      `<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" class="yl">${esc(short(v))}</text>`,
    );
  }
  for (const s of xTicks) {
    parts.push(
      `<line x1="${x(s * 1000).toFixed(1)}" x2="${x(s * 1000).toFixed(1)}" y1="${m.t + ph}" y2="${m.t + ph + 4}" class="axis"/>`,
    );
    parts.push(
      `<text x="${x(s * 1000).toFixed(1)}" y="${m.t + ph + 17}" class="xl">${esc(short(s))}s</text>`,
    );
  }
  parts.push(`<text x="${W - m.r}" y="${H - 6}" class="xt">time since the crowd started</text>`);
  parts.push(
    `<text x="14" y="${m.t + ph / 2}" class="yt" transform="rotate(-90 14 ${m.t + ph / 2})">${esc(opts.unit)}</text>`,
  );
  (opts.marks ?? []).forEach((mk, i) => {
    if (mk.t < 0 || mk.t > tMax) return;
    // Labels right of the line, or left of it near the right edge; stacked so they never collide.
    const right = x(mk.t) < W - m.r - 120;
    const lx = right ? x(mk.t) + 4 : x(mk.t) - 4;
    parts.push(
      `<line x1="${x(mk.t).toFixed(1)}" x2="${x(mk.t).toFixed(1)}" y1="${m.t}" y2="${m.t + ph}" class="mark"/>`,
    );
    parts.push(
      `<text x="${lx.toFixed(1)}" y="${m.t + 11 + i * 12}" class="ml" text-anchor="${right ? 'start' : 'end'}">${esc(mk.label)}</text>`,
    );
  });
  for (const s of series) {
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
    if (!d) continue;
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
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" class="axis"/>`);
  let lx = m.l;
  for (const s of series) {
    parts.push(
      `<rect x="${lx}" y="31" width="12" height="4" fill="${s.color}"/><text x="${lx + 16}" y="36" class="lg">${esc(s.name)}</text>`,
    );
    lx += 30 + s.name.length * 6.2;
  }
  parts.push('</svg>');
  return parts.join('');
}

function barChart(opts: {
  id: string;
  title: string;
  bars: Array<{ label: string; value: number }>;
}): string {
  const W = 720;
  const H = 240;
  const m = { l: 64, r: 16, t: 34, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const vMax = Math.max(1, ...opts.bars.map((b) => b.value));
  const ticks = niceTicks(vMax);
  const top = ticks[ticks.length - 1]!;
  const bw = pw / Math.max(1, opts.bars.length);
  const y = (v: number) => m.t + ph - (v / top) * ph;
  const p: string[] = [];
  p.push(
    `<svg class="chart" id="${esc(opts.id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(opts.title)}" xmlns="http://www.w3.org/2000/svg">`,
  );
  p.push(`<text x="${m.l}" y="20" class="ct">${esc(opts.title)}</text>`);
  for (const v of ticks) {
    p.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`,
    );
    p.push(`<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" class="yl">${esc(short(v))}</text>`);
  }
  opts.bars.forEach((b, i) => {
    const h = (b.value / top) * ph;
    p.push(
      `<rect class="bar" x="${(m.l + i * bw + 3).toFixed(1)}" y="${(m.t + ph - h).toFixed(1)}" width="${(bw - 6).toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(`${b.label}: ${fmt(b.value)}`)}</title></rect>`,
    );
    p.push(
      `<text x="${(m.l + i * bw + bw / 2).toFixed(1)}" y="${m.t + ph + 16}" class="xl">${esc(b.label)}</text>`,
    );
  });
  p.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" class="axis"/>`);
  p.push('</svg>');
  return p.join('');
}

const msLabel = (ms: number) => (ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`);

/** Arrival rate (buyers sent per second) from the cumulative series. */
function rateOf(t: number[], cum: number[]): Array<number | null> {
  return cum.map((c, i) => {
    let j = i;
    while (j > 0 && t[i]! - t[j - 1]! <= 1_000) j--;
    const dt = t[i]! - t[j]!;
    return dt > 0 ? Math.round(((c - cum[j]!) * 1000) / dt) : i === 0 ? 0 : null;
  });
}

function skuRow(s: SkuLine): string {
  const m = s.mysql;
  return `<tr><td>${esc(s.sku)}</td><td>${fmt(s.total)}</td><td>${fmt(s.sold)}</td><td>${fmt(s.held)}</td><td>${fmt(s.available)}</td><td>${s.perUser || '–'}</td><td>${fmt(s.demandUnits)}</td><td>${fmt(s.demandCarts)}</td><td>${m ? `${fmt(m.total)} / ${fmt(m.sold)} / ${fmt(m.held)} / ${fmt(m.available)}` : '–'}</td><td class="${s.booksMatch ? 'ok' : 'bad'}">${s.booksMatch ? '✓' : '✗'}</td></tr>`;
}

export function renderHtml(r: DemoReport): string {
  const S = r.series;
  const o = r.options;
  const t0 = S.t0;
  const marks = [
    { t: r.crowd.sendDoneAt - t0, label: 'all buyers sent' },
    { t: r.throughput.lastEventDecisionAt - t0, label: 'last event decided' },
  ];
  const charts = [
    lineChart({
      id: 'chart-decisions',
      title: 'Decisions per second (outcomes, over the last second) and buyers arriving per second',
      unit: 'per second',
      t: S.t,
      series: [
        { name: 'decisions/s', color: '#2563eb', values: S.decisionsPerSec, area: true },
        { name: 'buyers arriving/s', color: '#f59e0b', values: rateOf(S.t, S.sent) },
      ],
      marks,
    }),
    lineChart({
      id: 'chart-ledger-lag',
      title: 'Ledger lag (state changes not yet committed to MySQL) and events not yet decided',
      unit: 'entries',
      t: S.t,
      series: [
        { name: 'ledger lag', color: '#dc2626', values: S.ledgerLag, area: true },
        { name: 'events backlog', color: '#7c3aed', values: S.eventBacklog },
      ],
      marks,
    }),
    lineChart({
      id: 'chart-progress',
      title: 'Cumulative: buyers sent, outcomes, ledger rows written to MySQL, units sold',
      unit: 'count',
      t: S.t,
      series: [
        { name: 'buyers sent', color: '#f59e0b', values: S.sent },
        { name: 'outcomes', color: '#2563eb', values: S.outcomes },
        { name: 'MySQL ledger rows', color: '#16a34a', values: S.ledgerRows },
        { name: 'units sold', color: '#0f766e', values: S.sold },
      ],
      marks,
    }),
    lineChart({
      id: 'chart-holds',
      title:
        "Active holds (abandoned ones expire after the hold time) and the reconciler's variance",
      unit: 'count',
      t: S.t,
      series: [
        { name: 'active holds', color: '#0891b2', values: S.activeHolds, area: true },
        { name: 'variance (last reconcile run)', color: '#dc2626', values: S.variance },
      ],
      marks,
    }),
    barChart({
      id: 'chart-latency',
      title: `Decision latency (XADD → outcome), ${fmt(r.latency.overall.count)} events`,
      bars: r.latency.histogram.map((h, i, a) => ({
        label: h.le === null ? `>${msLabel(a[i - 1]?.le ?? 0)}` : `≤${msLabel(h.le)}`,
        value: h.count,
      })),
    }),
  ];

  const inv = Object.values(r.invariants)
    .map(
      (c) =>
        `<tr><td class="${c.ok ? 'ok' : 'bad'}">${c.ok ? '✓' : '✗'}</td><td>${esc(c.title)}</td><td>${esc(c.detail)}</td></tr>`,
    )
    .join('');
  const l = r.latency.overall;
  const lat = [['all', l] as const, ...Object.entries(r.latency.byType)]
    .map(
      ([k, p]) =>
        `<tr><td>${esc(k)}</td><td>${fmt(p.count)}</td><td>${msText(p.p50)}</td><td>${msText(p.p90)}</td><td>${msText(p.p99)}</td><td>${msText(p.p999)}</td><td>${msText(p.max)}</td></tr>`,
    )
    .join('');
  const statuses = Object.entries(r.outcomes.byStatus)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${fmt(v)}</td></tr>`)
    .join('');
  const kinds = Object.keys({ ...r.ledger.expectedByKind, ...r.ledger.byKind })
    .map(
      (k) =>
        `<tr><td>${esc(k)}</td><td>${fmt(r.ledger.expectedByKind[k] ?? 0)}</td><td>${fmt(r.ledger.byKind[k] ?? 0)}</td></tr>`,
    )
    .join('');
  const env = Object.entries(r.fleet.env)
    .map(([k, v]) => `<code>${esc(k)}=${esc(v)}</code>`)
    .join(' ');
  const t = r.throughput;
  const lg = r.ledger;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>holdfast demo ${esc(r.startedAt)} — ${r.ok ? 'every invariant holds' : 'INVARIANT FAILED'}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#111827}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.muted{color:#6b7280} .verdict{font-size:18px;font-weight:600;margin:12px 0;padding:10px 14px;border-radius:6px}
.verdict.ok{background:#dcfce7;color:#14532d} .verdict.bad{background:#fee2e2;color:#7f1d1d}
table{border-collapse:collapse;margin:6px 0} td,th{padding:3px 10px;border-bottom:1px solid #f3f4f6;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left} table.inv td:nth-child(3){text-align:left} th{font-weight:600;background:#f9fafb}
td.ok{color:#15803d;font-weight:700} td.bad{color:#b91c1c;font-weight:700}
.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0} .kpi{border:1px solid #e5e7eb;border-radius:6px;padding:8px 12px;min-width:150px}
.kpi b{display:block;font-size:20px} .charts svg{display:block;max-width:100%;height:auto;margin:10px 0;border:1px solid #f3f4f6;border-radius:6px}
svg .ct{font-size:13px;font-weight:600;fill:#111827} svg .grid{stroke:#eef0f3} svg .axis{stroke:#9ca3af}
svg .yl{font-size:10px;fill:#6b7280;text-anchor:end} svg .xl{font-size:10px;fill:#6b7280;text-anchor:middle}
svg .xt{font-size:10px;fill:#6b7280;text-anchor:end} svg .yt{font-size:10px;fill:#6b7280;text-anchor:middle}
svg .lg{font-size:11px;fill:#374151} svg .series{fill:none;stroke-width:1.6} svg .area{opacity:.12}
svg .mark{stroke:#9ca3af;stroke-dasharray:4 3} svg .ml{font-size:10px;fill:#6b7280} svg .bar{fill:#2563eb}
code{font-size:12px;background:#f3f4f6;padding:1px 4px;border-radius:3px}
details{margin:8px 0} .note{background:#fef3c7;color:#78350f;padding:6px 10px;border-radius:6px}
</style>
</head>
<body>
<h1>holdfast flash-sale demo</h1>
<div class="muted">${esc(r.startedAt)} · ${fmt(o.buyers)} buyers · HOT-1 ${fmt(o.hotUnits)} units (limit 2) · ${o.warmSkus} warm SKUs × ${fmt(o.warmUnits)} (limit 5) · holds ${o.holdSeconds} s · ${o.producers} producers at ${o.rate ? `${fmt(o.rate)} buyers/s` : 'full speed'} · ${o.replicas} replica(s) per service</div>
<div class="verdict ${r.ok ? 'ok' : 'bad'}">${r.ok ? '✓ Every invariant holds' : `✗ ${Object.values(r.invariants).filter((c) => !c.ok).length} invariant(s) failed`} · oversells ${r.oversells} · reconciler variance ${r.reconcile.variance}</div>
${r.notes.map((note) => `<p class="note">Note: ${esc(note)}</p>`).join('')}
<div class="kpis">
<div class="kpi"><span class="muted">decisions/s overall</span><b>${fmt(t.decisionsPerSec)}</b><span class="muted">peak ${fmt(t.peakDecisionsPerSec)}/s</span></div>
<div class="kpi"><span class="muted">decision latency p50 / p99</span><b>${msText(l.p50)} / ${msText(l.p99)}</b><span class="muted">p999 ${msText(l.p999)}</span></div>
<div class="kpi"><span class="muted">ledger drained after last decision</span><b>${lg.drainAfterLastDecisionMs === null ? '?' : msText(lg.drainAfterLastDecisionMs)}</b><span class="muted">peak lag ${fmt(lg.peakLag)}</span></div>
<div class="kpi"><span class="muted">HOT-1 sold / units</span><b>${fmt(r.hot.sold)} / ${fmt(r.hot.total)}</b><span class="muted">${fmt(r.hot.buyersWanting)} carts wanted it</span></div>
<div class="kpi"><span class="muted">warm sold / units</span><b>${fmt(r.warm.sold)} / ${fmt(r.warm.total)}</b><span class="muted">${r.warm.soldOut} of ${r.warm.skus} SKUs sold out</span></div>
</div>

<h2>Invariants</h2>
<table class="inv"><tbody>${inv}</tbody></table>

<h2>Over time</h2>
<div class="charts">${charts.join('\n')}</div>

<h2>Decision latency</h2>
<p class="muted">${esc(r.latency.method)}.</p>
<table><thead><tr><th>type</th><th>events</th><th>p50</th><th>p90</th><th>p99</th><th>p999</th><th>max</th></tr></thead><tbody>${lat}</tbody></table>

<h2>Outcomes</h2>
<table><thead><tr><th>status[:reason]</th><th>count</th></tr></thead><tbody>${statuses}</tbody></table>
<p>Crowd: ${fmt(r.crowd.sent)} reserves sent in ${secs(r.crowd.sendMs)} (${fmt(t.buyersPerSec)} buyers/s) by ${fmt(r.crowd.users)} users; ${fmt(r.crowd.followUps)} follow-ups: ${fmt(r.crowd.confirmed)} confirmed, ${fmt(r.crowd.cancelled)} cancelled; ${fmt(r.crowd.abandoned)} holds abandoned to expire.</p>

<h2>Ledger (MySQL)</h2>
<p>${fmt(lg.changes)} changes in ${fmt(lg.rows)} rows; the last commit came ${lg.drainAfterLastDecisionMs === null ? '?' : msText(lg.drainAfterLastDecisionMs)} after the last decision; peak lag ${fmt(lg.peakLag)} entries; ${lg.incidents} incidents.</p>
<table><thead><tr><th>kind</th><th>state changes (outcomes + admin)</th><th>changes in MySQL</th></tr></thead><tbody>${kinds}</tbody></table>

<h2>Stock per SKU</h2>
<table><thead><tr><th>SKU</th><th>total</th><th>sold</th><th>held</th><th>available</th><th>limit</th><th>units asked</th><th>carts</th><th>MySQL total / sold / held / available</th><th>books = Redis</th></tr></thead>
<tbody>${r.skus.map(skuRow).join('')}</tbody></table>

<h2>Run</h2>
<p>Redis <code>${esc(r.target.redis)}</code> namespace <code>${esc(r.target.namespace)}</code>${r.target.namespaceDeleted ? ' (deleted after the run)' : ''} · MySQL <code>${esc(r.target.mysql)}</code>${r.target.databaseRecreated ? ' (recreated for the run)' : ''} · shard <code>${esc(r.target.shard)}</code></p>
<p>Fleet: ${r.fleet.replicas} replica(s) of ingest, reserver, ledger-writer, reconciler; restarts: ${esc(
    Object.entries(r.fleet.restarts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none',
  )}; demo settings ${env}</p>
<p>Machine: ${r.machine.cpus} CPUs, Node ${esc(r.machine.node)}, load average ${esc(r.machine.loadAvgAtStart.join(' '))} at the start, ${esc(r.machine.loadAvgAtEnd.join(' '))} at the end.</p>
<p>Durations: setup ${secs(r.durations.setupMs)} · crowd ${secs(r.durations.crowdMs)} · settle (holds expire, streams drain) ${secs(r.durations.settleMs)} · checks ${secs(r.durations.checksMs)} · total ${secs(r.durations.totalMs)}</p>
<details><summary>Options</summary><pre>${esc(JSON.stringify(r.options, null, 2))}</pre></details>
</body>
</html>
`;
}
