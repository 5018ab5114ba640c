/**
 * The report's figures beside the invariants: every SKU's line, HOT-1 and the warm SKUs, the
 * throughput, the decision latency, the ledger drain, the notes and the time series. Pure.
 */
import { allSkus, booksMatch } from '../check/stock-rules.js';
import type { NothingLostVerdict } from '../check/nothing-lost.js';
import { HOT_SKU } from '../crowd/skus.js';
import { fmt } from '../format.js';
import type { Observation } from '../observation.js';
import { histogram, percentiles } from '../stats.js';
import type { DemoReport, SkuLine } from './report.js';

const LATENCY_METHOD =
  "per event: outcome `at` (ms, Redis clock, set by the deciding Lua call) minus the ms part of the event's checkout:events entry id (assigned by Redis at XADD); entry ids read by the demo's own NOACK consumer group, which keeps the services from trimming an entry before it was read";

const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** Every SKU: Redis counters, MySQL row, limit, demand, whether the books match. */
export function skuLines(x: Observation): SkuLine[] {
  const redis = new Map(x.redisStock.map((r) => [r.sku, r]));
  const mysql = new Map(x.mysqlStock.map((r) => [r.sku, r]));
  return allSkus(x.redisStock, x.mysqlStock, x.armed).map((sku) => {
    const r = redis.get(sku) ?? { sku, total: 0, available: 0, held: 0, sold: 0 };
    const m = mysql.get(sku) ?? null;
    const d = x.demand.get(sku) ?? { units: 0, carts: 0 };
    return {
      ...r,
      perUser: x.perUser.get(sku) ?? 0,
      demandUnits: d.units,
      demandCarts: d.carts,
      mysql: m,
      booksMatch: booksMatch(redis.get(sku), m ?? undefined),
    };
  });
}

/** HOT-1's line with its demand and sell-out time; the warm SKUs summed. */
export function hotAndWarm(skus: SkuLine[], x: Observation): Pick<DemoReport, 'hot' | 'warm'> {
  const hotLine = skus.find((s) => s.sku === HOT_SKU) ?? emptyLine(HOT_SKU);
  const warmLines = skus.filter((s) => s.sku !== HOT_SKU);
  const sum = (f: (s: SkuLine) => number) => warmLines.reduce((a, s) => a + f(s), 0);
  return {
    hot: {
      ...hotLine,
      buyersWanting: x.demand.get(HOT_SKU)?.carts ?? 0,
      soldOutAtMs: x.hotSoldOutAt,
    },
    warm: {
      skus: warmLines.length,
      total: sum((s) => s.total),
      sold: sum((s) => s.sold),
      held: sum((s) => s.held),
      available: sum((s) => s.available),
      soldOut: warmLines.filter((s) => s.total > 0 && s.sold === s.total).length,
      demandUnits: sum((s) => s.demandUnits),
    },
  };
}

function emptyLine(sku: string): SkuLine {
  return {
    sku,
    total: 0,
    available: 0,
    held: 0,
    sold: 0,
    perUser: 0,
    demandUnits: 0,
    demandCarts: 0,
    mysql: null,
    booksMatch: false,
  };
}

/**
 * From the first XADD to the last decision of a producer's event (the expiries that follow
 * alone are just the holds running out), counting every outcome in it.
 */
export function throughputOf(x: Observation): DemoReport['throughput'] {
  let firstXadd = Infinity;
  for (const t of x.xaddMs.values()) if (t < firstXadd) firstXadd = t;
  if (!Number.isFinite(firstXadd)) firstXadd = x.crowdStartedAt;
  let lastEventAt = firstXadd;
  for (const o of x.outcomes.byEvent.values())
    if (o.type !== 'expire' && o.at > lastEventAt) lastEventAt = o.at;
  let inWindow = 0;
  for (const o of x.outcomes.byEvent.values()) if (o.at <= lastEventAt) inWindow++;
  const durationMs = Math.max(1, lastEventAt - firstXadd);
  return {
    decisions: inWindow,
    durationMs,
    firstXaddAt: firstXadd,
    lastEventDecisionAt: lastEventAt,
    decisionsPerSec: Math.round((inWindow * 1000) / durationMs),
    peakDecisionsPerSec: x.samples.reduce((a, s) => Math.max(a, s.decisionsPerSec), 0),
    buyersPerSec: Math.round((x.crowd.sent * 1000) / Math.max(1, x.sendDoneAt - x.crowdStartedAt)),
  };
}

/** XADD entry id (ms) → outcome `at` (ms), both Redis' clock; expiries have no XADD. */
export function latencyOf(x: Observation): DemoReport['latency'] {
  const all: number[] = [];
  const byType: Record<string, number[]> = {};
  let missingXadd = 0;
  for (const [ev, o] of x.outcomes.byEvent) {
    if (o.type === 'expire') continue;
    const t = x.xaddMs.get(ev);
    if (t === undefined) {
      missingXadd++;
      continue;
    }
    const d = Math.max(0, o.at - t);
    all.push(d);
    (byType[o.type] ??= []).push(d);
  }
  return {
    method: LATENCY_METHOD,
    overall: percentiles(all),
    byType: Object.fromEntries(Object.entries(byType).map(([k, v]) => [k, percentiles(v)])),
    histogram: histogram(all, LATENCY_BUCKETS_MS),
    missingXaddTime: missingXadd,
  };
}

export function ledgerOf(x: Observation, lost: NothingLostVerdict): DemoReport['ledger'] {
  return {
    changes: x.mysqlLedger.changes,
    rows: x.mysqlLedger.rows,
    byKind: x.mysqlLedger.byKind,
    expectedByKind: lost.details.expectedByKind,
    lastDecisionAt: x.outcomes.lastAt,
    lastCommitAt: x.lastCommitAt,
    drainAfterLastDecisionMs:
      x.lastCommitAt === null ? null : Math.max(0, x.lastCommitAt - x.outcomes.lastAt),
    peakLag: x.samples.reduce((a, s) => Math.max(a, s.ledgerLag), 0),
    incidents: x.incidents,
  };
}

/** Things worth knowing that are not invariant violations (the fleet fell behind, …). */
export function notesOf(x: Observation, latency: DemoReport['latency']): string[] {
  const notes: string[] = [];
  const st = x.outcomes.byStatus;
  const lateFollowUps = (st['rejected:hold_expired'] ?? 0) + (st['rejected:unknown_hold'] ?? 0);
  if (lateFollowUps / Math.max(1, x.crowd.followUps) > 0.01) {
    notes.push(
      `the fleet fell behind the arrival rate: ${fmt(lateFollowUps)} of ${fmt(x.crowd.followUps)} confirms/cancels came after their hold had expired ` +
        `(decision latency p50 ${fmt(latency.overall.p50)} ms vs holds of ${x.options.holdSeconds} s); this machine cannot sustain --rate ${x.options.rate || 'unlimited'}: lower it`,
    );
  }
  if (x.crowd.sent < x.options.buyers)
    notes.push(`only ${fmt(x.crowd.sent)} of ${fmt(x.options.buyers)} buyers were sent`);
  return notes;
}

/** The sampler's series, one array per figure. */
export function seriesOf(x: Observation): DemoReport['series'] {
  const s = x.samples;
  return {
    t0: x.samplerT0,
    intervalMs: x.sampleIntervalMs,
    t: s.map((v) => v.t),
    sent: s.map((v) => v.sent),
    outcomes: s.map((v) => v.outcomes),
    decisionsPerSec: s.map((v) => v.decisionsPerSec),
    ledgerLag: s.map((v) => v.ledgerLag),
    eventBacklog: s.map((v) => v.eventBacklog),
    ledgerRows: s.map((v) => v.ledgerRows),
    activeHolds: s.map((v) => v.activeHolds),
    sold: s.map((v) => v.sold),
    variance: s.map((v) => v.variance),
  };
}
