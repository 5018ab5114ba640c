/** The report as terminal text (the summary; the full tables are in report.html/json). */
import type { DemoReport } from './report.js';
import { fmt, msText, secs } from './stats.js';

const pad = (s: string | number, w: number) => String(s).padStart(w);

export function renderText(
  r: DemoReport,
  files: { html: string; json: string; log: string },
): string {
  const L: string[] = [];
  const o = r.options;
  L.push('');
  L.push(
    `holdfast demo — ${fmt(o.buyers)} buyers, HOT-1 ${fmt(o.hotUnits)} units (limit 2), ${fmt(o.warmSkus)} warm SKUs × ${fmt(o.warmUnits)} (limit 5), holds ${o.holdSeconds} s`,
  );
  L.push('');
  L.push('Stock                        total       sold   held  available');
  const row = (label: string, t: number, s: number, h: number, a: number, note: string) =>
    `  ${label.padEnd(24)}${pad(fmt(t), 9)}${pad(fmt(s), 11)}${pad(fmt(h), 7)}${pad(fmt(a), 11)}   ${note}`;
  const hot = r.hot;
  L.push(
    row(
      'HOT-1',
      hot.total,
      hot.sold,
      hot.held,
      hot.available,
      `${fmt(hot.buyersWanting)} carts wanted it (${fmt(hot.demandUnits)} units)${hot.soldOutAtMs !== null ? `; first sold out at +${secs(hot.soldOutAtMs)}` : ''}`,
    ),
  );
  const w = r.warm;
  L.push(
    row(
      `WARM-1..${w.skus} (${w.skus} SKUs)`,
      w.total,
      w.sold,
      w.held,
      w.available,
      `${fmt(w.demandUnits)} units asked for; ${w.soldOut} SKUs sold out`,
    ),
  );
  L.push(`  (every SKU: report.html / report.json)`);
  L.push('');
  const st = r.outcomes.byStatus;
  const rejected = Object.entries(st)
    .filter(([k]) => k.startsWith('rejected:'))
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.slice(9)} ${fmt(v)}`)
    .join(', ');
  L.push(
    `Outcomes     ${fmt(r.outcomes.total)}: reserved ${fmt(st.reserved ?? 0)} · rejected ${rejected || '0'} · confirmed ${fmt(st.confirmed ?? 0)} · cancelled ${fmt(st.cancelled ?? 0)} · expired ${fmt(st.expired ?? 0)}`,
  );
  L.push(
    `Crowd        ${fmt(r.crowd.sent)} reserves from ${r.crowd.producers} producers in ${secs(r.crowd.sendMs)} (${fmt(r.throughput.buyersPerSec)} buyers/s), ${fmt(r.crowd.users)} users; follow-ups: ${fmt(r.crowd.confirmed)} confirmed, ${fmt(r.crowd.cancelled)} cancelled, ${fmt(r.crowd.abandoned)} abandoned`,
  );
  L.push('');
  L.push('Invariants');
  for (const c of Object.values(r.invariants))
    L.push(`  ${c.ok ? '✓' : '✗'} ${c.title} — ${c.detail}`);
  L.push(`  Oversells: ${r.oversells} SKU(s)`);
  L.push(`  Reconciler variance: ${r.reconcile.variance}`);
  L.push('');
  const t = r.throughput;
  L.push(
    `Throughput   ${fmt(t.decisions)} decisions in ${secs(t.durationMs)} = ${fmt(t.decisionsPerSec)} decisions/s overall, peak ${fmt(t.peakDecisionsPerSec)}/s`,
  );
  const l = r.latency.overall;
  L.push(
    `Latency      p50 ${msText(l.p50)} · p99 ${msText(l.p99)} · p999 ${msText(l.p999)} · max ${msText(l.max)} (XADD → decision, ${fmt(l.count)} events)`,
  );
  const lg = r.ledger;
  L.push(
    `Ledger       ${fmt(lg.changes)} changes / ${fmt(lg.rows)} rows in MySQL; drained ${lg.drainAfterLastDecisionMs === null ? '?' : msText(lg.drainAfterLastDecisionMs)} after the last decision; peak lag ${fmt(lg.peakLag)}`,
  );
  for (const note of r.notes) L.push(`Note         ${note}`);
  const la = r.machine.loadAvgAtStart;
  L.push(
    `Machine      ${r.machine.cpus} CPUs, load average ${la.join(' ')} at the start (figures depend on other load)`,
  );
  L.push('');
  L.push(`Report       ${files.html}`);
  L.push(`             ${files.json}`);
  L.push(`             ${files.log} (fleet logs)`);
  L.push(
    r.ok
      ? `Result       ✓ every invariant holds (${secs(r.durations.totalMs)} in all)`
      : `Result       ✗ ${Object.values(r.invariants).filter((c) => !c.ok).length} invariant(s) failed`,
  );
  return L.join('\n');
}
