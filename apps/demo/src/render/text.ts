/** The report as terminal text (the summary; the full tables are in report.html/json). */
import { fmt, msText, secs } from '../format.js';
import type { DemoReport } from './report.js';

const pad = (s: string | number, w: number) => String(s).padStart(w);

export function renderText(
  r: DemoReport,
  files: { html: string; json: string; log: string },
): string {
  const o = r.options;
  return [
    '',
    `holdfast demo — ${fmt(o.buyers)} buyers, HOT-1 ${fmt(o.hotUnits)} units (limit 2), ${fmt(o.warmSkus)} warm SKUs × ${fmt(o.warmUnits)} (limit 5), holds ${o.holdSeconds} s`,
    '',
    ...stockLines(r),
    '',
    ...crowdLines(r),
    '',
    ...invariantLines(r),
    '',
    ...figureLines(r),
    '',
    `Report       ${files.html}`,
    `             ${files.json}`,
    `             ${files.log} (fleet logs)`,
    r.ok
      ? `Result       ✓ every invariant holds (${secs(r.durations.totalMs)} in all)`
      : `Result       ✗ ${Object.values(r.invariants).filter((c) => !c.ok).length} invariant(s) failed`,
  ].join('\n');
}

function stockLines(r: DemoReport): string[] {
  const row = (label: string, t: number, s: number, h: number, a: number, note: string) =>
    `  ${label.padEnd(24)}${pad(fmt(t), 9)}${pad(fmt(s), 11)}${pad(fmt(h), 7)}${pad(fmt(a), 11)}   ${note}`;
  const { hot, warm: w } = r;
  const soldOut = hot.soldOutAtMs !== null ? `; first sold out at +${secs(hot.soldOutAtMs)}` : '';
  return [
    'Stock                        total       sold   held  available',
    row(
      'HOT-1',
      hot.total,
      hot.sold,
      hot.held,
      hot.available,
      `${fmt(hot.buyersWanting)} carts wanted it (${fmt(hot.demandUnits)} units)${soldOut}`,
    ),
    row(
      `WARM-1..${w.skus} (${w.skus} SKUs)`,
      w.total,
      w.sold,
      w.held,
      w.available,
      `${fmt(w.demandUnits)} units asked for; ${w.soldOut} SKUs sold out`,
    ),
    `  (every SKU: report.html / report.json)`,
  ];
}

function crowdLines(r: DemoReport): string[] {
  const st = r.outcomes.byStatus;
  const rejected = Object.entries(st)
    .filter(([k]) => k.startsWith('rejected:'))
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.slice(9)} ${fmt(v)}`)
    .join(', ');
  return [
    `Outcomes     ${fmt(r.outcomes.total)}: reserved ${fmt(st.reserved ?? 0)} · rejected ${rejected || '0'} · confirmed ${fmt(st.confirmed ?? 0)} · cancelled ${fmt(st.cancelled ?? 0)} · expired ${fmt(st.expired ?? 0)}`,
    ...r.shards
      .filter(() => r.shards.length > 1)
      .map(
        (s) =>
          `  shard ${s.shard}${s.node === null ? '' : ` (:${s.node})`}: ${fmt(s.outcomes)} outcomes (reserved ${fmt(s.reserved)} · rejected ${fmt(s.rejected)} · confirmed ${fmt(s.confirmed)} · cancelled ${fmt(s.cancelled)} · expired ${fmt(s.expired)}); ${s.skus} SKUs, ${fmt(s.sold)}/${fmt(s.total)} units sold`,
      ),
    `Crowd        ${fmt(r.crowd.sent)} reserves from ${r.crowd.producers} producers in ${secs(r.crowd.sendMs)} (${fmt(r.throughput.buyersPerSec)} buyers/s), ${fmt(r.crowd.users)} users; follow-ups: ${fmt(r.crowd.confirmed)} confirmed, ${fmt(r.crowd.cancelled)} cancelled, ${fmt(r.crowd.abandoned)} abandoned`,
  ];
}

function invariantLines(r: DemoReport): string[] {
  return [
    'Invariants',
    ...Object.values(r.invariants).map((c) => `  ${c.ok ? '✓' : '✗'} ${c.title} — ${c.detail}`),
    `  Oversells: ${r.oversells} SKU(s)`,
    `  Reconciler variance: ${r.reconcile.variance}`,
  ];
}

function figureLines(r: DemoReport): string[] {
  const t = r.throughput;
  const l = r.latency.overall;
  const lg = r.ledger;
  const drained = lg.drainAfterLastDecisionMs === null ? '?' : msText(lg.drainAfterLastDecisionMs);
  return [
    `Throughput   ${fmt(t.decisions)} decisions in ${secs(t.durationMs)} = ${fmt(t.decisionsPerSec)} decisions/s overall, peak ${fmt(t.peakDecisionsPerSec)}/s`,
    `Latency      p50 ${msText(l.p50)} · p99 ${msText(l.p99)} · p999 ${msText(l.p999)} · max ${msText(l.max)} (XADD → decision, ${fmt(l.count)} events)`,
    `Ledger       ${fmt(lg.changes)} changes / ${fmt(lg.rows)} rows in MySQL; drained ${drained} after the last decision; peak lag ${fmt(lg.peakLag)}`,
    ...r.notes.map((note) => `Note         ${note}`),
    `Machine      ${r.machine.cpus} CPUs, load average ${r.machine.loadAvgAtStart.join(' ')} at the start (figures depend on other load)`,
  ];
}
