/**
 * report.html: one self-contained page (inline CSS, charts as inline SVG drawn in ./charts.ts,
 * no script, no external resource — a Content-Security-Policy forbids any), so it opens
 * offline and can be attached to a ticket as is.
 */
import { fmt, msText, secs } from '../format.js';
import { barChart, lineChart } from './charts.js';
import { esc } from './escape.js';
import type { DemoReport, SkuLine } from './report.js';

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#111827}
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
`;

export function renderHtml(r: DemoReport): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>holdfast demo ${esc(r.startedAt)} — ${r.ok ? 'every invariant holds' : 'INVARIANT FAILED'}</title>
<style>
${STYLE}</style>
</head>
<body>
${summary(r)}

<h2>Invariants</h2>
<table class="inv"><tbody>${invariantRows(r)}</tbody></table>

<h2>Over time</h2>
<div class="charts">${charts(r).join('\n')}</div>

${tables(r)}

${runSection(r)}
</body>
</html>
`;
}

/** The heading, the verdict, the notes and the key figures. */
function summary(r: DemoReport): string {
  const o = r.options;
  const t = r.throughput;
  const l = r.latency.overall;
  const lg = r.ledger;
  const failed = Object.values(r.invariants).filter((c) => !c.ok).length;
  return `<h1>holdfast flash-sale demo</h1>
<div class="muted">${esc(r.startedAt)} · ${fmt(o.buyers)} buyers · HOT-1 ${fmt(o.hotUnits)} units (limit 2) · ${o.warmSkus} warm SKUs × ${fmt(o.warmUnits)} (limit 5) · holds ${o.holdSeconds} s · ${o.producers} producers at ${o.rate ? `${fmt(o.rate)} buyers/s` : 'full speed'} · ${o.replicas} replica(s) per service</div>
<div class="verdict ${r.ok ? 'ok' : 'bad'}">${r.ok ? '✓ Every invariant holds' : `✗ ${failed} invariant(s) failed`} · oversells ${r.oversells} · reconciler variance ${r.reconcile.variance}</div>
${r.notes.map((note) => `<p class="note">Note: ${esc(note)}</p>`).join('')}
<div class="kpis">
<div class="kpi"><span class="muted">decisions/s overall</span><b>${fmt(t.decisionsPerSec)}</b><span class="muted">peak ${fmt(t.peakDecisionsPerSec)}/s</span></div>
<div class="kpi"><span class="muted">decision latency p50 / p99</span><b>${msText(l.p50)} / ${msText(l.p99)}</b><span class="muted">p999 ${msText(l.p999)}</span></div>
<div class="kpi"><span class="muted">ledger drained after last decision</span><b>${drained(r)}</b><span class="muted">peak lag ${fmt(lg.peakLag)}</span></div>
<div class="kpi"><span class="muted">HOT-1 sold / units</span><b>${fmt(r.hot.sold)} / ${fmt(r.hot.total)}</b><span class="muted">${fmt(r.hot.buyersWanting)} carts wanted it</span></div>
<div class="kpi"><span class="muted">warm sold / units</span><b>${fmt(r.warm.sold)} / ${fmt(r.warm.total)}</b><span class="muted">${r.warm.soldOut} of ${r.warm.skus} SKUs sold out</span></div>
</div>`;
}

const drained = (r: DemoReport) =>
  r.ledger.drainAfterLastDecisionMs === null ? '?' : msText(r.ledger.drainAfterLastDecisionMs);

function invariantRows(r: DemoReport): string {
  return Object.values(r.invariants)
    .map(
      (c) =>
        `<tr><td class="${c.ok ? 'ok' : 'bad'}">${c.ok ? '✓' : '✗'}</td><td>${esc(c.title)}</td><td>${esc(c.detail)}</td></tr>`,
    )
    .join('');
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

/** The four time-series charts and the latency histogram. */
function charts(r: DemoReport): string[] {
  const S = r.series;
  const marks = [
    { t: r.crowd.sendDoneAt - S.t0, label: 'all buyers sent' },
    { t: r.throughput.lastEventDecisionAt - S.t0, label: 'last event decided' },
  ];
  const overTime = (
    id: string,
    title: string,
    unit: string,
    series: Parameters<typeof lineChart>[0]['series'],
  ) => lineChart({ id, title, unit, t: S.t, series, marks });
  return [
    overTime(
      'chart-decisions',
      'Decisions per second (outcomes, over the last second) and buyers arriving per second',
      'per second',
      [
        { name: 'decisions/s', color: '#2563eb', values: S.decisionsPerSec, area: true },
        { name: 'buyers arriving/s', color: '#f59e0b', values: rateOf(S.t, S.sent) },
      ],
    ),
    overTime(
      'chart-ledger-lag',
      'Ledger lag (state changes not yet committed to MySQL) and events not yet decided',
      'entries',
      [
        { name: 'ledger lag', color: '#dc2626', values: S.ledgerLag, area: true },
        { name: 'events backlog', color: '#7c3aed', values: S.eventBacklog },
      ],
    ),
    overTime(
      'chart-progress',
      'Cumulative: buyers sent, outcomes, ledger rows written to MySQL, units sold',
      'count',
      [
        { name: 'buyers sent', color: '#f59e0b', values: S.sent },
        { name: 'outcomes', color: '#2563eb', values: S.outcomes },
        { name: 'MySQL ledger rows', color: '#16a34a', values: S.ledgerRows },
        { name: 'units sold', color: '#0f766e', values: S.sold },
      ],
    ),
    overTime(
      'chart-holds',
      "Active holds (abandoned ones expire after the hold time) and the reconciler's variance",
      'count',
      [
        { name: 'active holds', color: '#0891b2', values: S.activeHolds, area: true },
        { name: 'variance (last reconcile run)', color: '#dc2626', values: S.variance },
      ],
    ),
    barChart({
      id: 'chart-latency',
      title: `Decision latency (XADD → outcome), ${fmt(r.latency.overall.count)} events`,
      bars: r.latency.histogram.map((h, i, a) => ({
        label: h.le === null ? `>${msLabel(a[i - 1]?.le ?? 0)}` : `≤${msLabel(h.le)}`,
        value: h.count,
      })),
    }),
  ];
}

/** Latency, outcomes, ledger and stock tables. */
function tables(r: DemoReport): string {
  const t = r.throughput;
  const lg = r.ledger;
  const lat = [['all', r.latency.overall] as const, ...Object.entries(r.latency.byType)]
    .map(
      ([k, p]) =>
        `<tr><td>${esc(k)}</td><td>${fmt(p.count)}</td><td>${msText(p.p50)}</td><td>${msText(p.p90)}</td><td>${msText(p.p99)}</td><td>${msText(p.p999)}</td><td>${msText(p.max)}</td></tr>`,
    )
    .join('');
  const statuses = Object.entries(r.outcomes.byStatus)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${fmt(v)}</td></tr>`)
    .join('');
  const kinds = Object.keys({ ...lg.expectedByKind, ...lg.byKind })
    .map(
      (k) =>
        `<tr><td>${esc(k)}</td><td>${fmt(lg.expectedByKind[k] ?? 0)}</td><td>${fmt(lg.byKind[k] ?? 0)}</td></tr>`,
    )
    .join('');
  return `<h2>Decision latency</h2>
<p class="muted">${esc(r.latency.method)}.</p>
<table><thead><tr><th>type</th><th>events</th><th>p50</th><th>p90</th><th>p99</th><th>p999</th><th>max</th></tr></thead><tbody>${lat}</tbody></table>

<h2>Outcomes</h2>
<table><thead><tr><th>status[:reason]</th><th>count</th></tr></thead><tbody>${statuses}</tbody></table>
${shardTable(r)}
<p>Crowd: ${fmt(r.crowd.sent)} reserves sent in ${secs(r.crowd.sendMs)} (${fmt(t.buyersPerSec)} buyers/s) by ${fmt(r.crowd.users)} users; ${fmt(r.crowd.followUps)} follow-ups: ${fmt(r.crowd.confirmed)} confirmed, ${fmt(r.crowd.cancelled)} cancelled; ${fmt(r.crowd.abandoned)} holds abandoned to expire.</p>

<h2>Ledger (MySQL)</h2>
<p>${fmt(lg.changes)} changes in ${fmt(lg.rows)} rows; the last commit came ${drained(r)} after the last decision; peak lag ${fmt(lg.peakLag)} entries; ${lg.incidents} incidents.</p>
<table><thead><tr><th>kind</th><th>state changes (outcomes + admin)</th><th>changes in MySQL</th></tr></thead><tbody>${kinds}</tbody></table>

<h2>Stock per SKU</h2>
<table><thead><tr><th>SKU</th><th>total</th><th>sold</th><th>held</th><th>available</th><th>limit</th><th>units asked</th><th>carts</th><th>MySQL total / sold / held / available</th><th>books = Redis</th></tr></thead>
<tbody>${r.skus.map(skuRow).join('')}</tbody></table>`;
}

/** Per shard: where it ran, its SKUs' units, the outcomes its stream carried. */
function shardTable(r: DemoReport): string {
  if (r.shards.length < 2) return '';
  const rows = r.shards
    .map(
      (s) =>
        `<tr><td>${esc(s.shard)}</td><td>${s.node === null ? '–' : `:${s.node}`}</td><td>${fmt(s.skus)}</td><td>${fmt(s.total)}</td><td>${fmt(s.sold)}</td><td>${fmt(s.outcomes)}</td><td>${fmt(s.reserved)}</td><td>${fmt(s.rejected)}</td><td>${fmt(s.confirmed)}</td><td>${fmt(s.cancelled)}</td><td>${fmt(s.expired)}</td></tr>`,
    )
    .join('');
  return `<h3>Per shard</h3>
<table><thead><tr><th>shard</th><th>Redis node</th><th>SKUs</th><th>units</th><th>sold</th><th>outcomes</th><th>reserved</th><th>rejected</th><th>confirmed</th><th>cancelled</th><th>expired</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function skuRow(s: SkuLine): string {
  const m = s.mysql;
  return `<tr><td>${esc(s.sku)}</td><td>${fmt(s.total)}</td><td>${fmt(s.sold)}</td><td>${fmt(s.held)}</td><td>${fmt(s.available)}</td><td>${s.perUser || '–'}</td><td>${fmt(s.demandUnits)}</td><td>${fmt(s.demandCarts)}</td><td>${m ? `${fmt(m.total)} / ${fmt(m.sold)} / ${fmt(m.held)} / ${fmt(m.available)}` : '–'}</td><td class="${s.booksMatch ? 'ok' : 'bad'}">${s.booksMatch ? '✓' : '✗'}</td></tr>`;
}

/** Where it ran, the fleet, the machine, the durations and the options. */
function runSection(r: DemoReport): string {
  const restarts =
    Object.entries(r.fleet.restarts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const env = Object.entries(r.fleet.env)
    .map(([k, v]) => `<code>${esc(k)}=${esc(v)}</code>`)
    .join(' ');
  const d = r.durations;
  return `<h2>Run</h2>
<p>Redis <code>${esc(r.target.redis)}</code> namespace <code>${esc(r.target.namespace)}</code>${r.target.namespaceDeleted ? ' (deleted after the run)' : ''} · MySQL <code>${esc(r.target.mysql)}</code>${r.target.databaseRecreated ? ' (recreated for the run)' : ''} · shards <code>${esc(r.target.shards.join(', '))}</code>${r.target.cluster ? ` · the demo's own Redis Cluster: ${r.target.cluster.nodes.map((n) => `:${n.port} (pid ${n.pid}${n.shards.length ? `, shard ${esc(n.shards.join(', '))}` : ''})`).join(', ')}, stopped after the run` : ''}</p>
<p>Fleet: ${r.fleet.replicas} replica(s) of ingest, reserver, ledger-writer, reconciler; restarts: ${esc(restarts)}; demo settings ${env}</p>
<p>Machine: ${r.machine.cpus} CPUs, Node ${esc(r.machine.node)}, load average ${esc(r.machine.loadAvgAtStart.join(' '))} at the start, ${esc(r.machine.loadAvgAtEnd.join(' '))} at the end.</p>
<p>Durations: setup ${secs(d.setupMs)} · crowd ${secs(d.crowdMs)} · settle (holds expire, streams drain) ${secs(d.settleMs)} · checks ${secs(d.checksMs)} · total ${secs(d.totalMs)}</p>
<details><summary>Options</summary><pre>${esc(JSON.stringify(r.options, null, 2))}</pre></details>`;
}
