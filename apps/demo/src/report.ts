/**
 * The demo's verdict: the contract's invariants checked one by one on what the run left in
 * Redis and MySQL and on what the taps saw, plus throughput, latency and the time series.
 * `buildReport` is pure (all I/O happens in ./index.ts), so it can be tested on its own.
 */
import { cpus, loadavg } from 'node:os';
import type { StockRow } from '@holdfast/shared/inspect';
import type { CrowdResult } from '@holdfast/crowd';
import type { ReconcileReport } from '@holdfast/reconciler';
import { HOT_SKU } from './crowd.js';
import type { AuditRun, OutcomeRecord, Sample } from './monitor.js';
import type { DemoOptions } from './options.js';
import { histogram, percentiles, type Percentiles } from './stats.js';

export const REPORT_VERSION = 1;

/**
 * The contract releases a hold "within its deadline plus one sweep interval". The reserver's
 * sweeper waits one interval *after* a sweep finished, and under load its Redis calls queue
 * behind the decision pipelines, so the demo allows this much on top, and reports how many
 * holds needed it.
 */
export const EXPIRY_GRACE_MS = 1_000;

export interface Check {
  ok: boolean;
  title: string;
  detail: string;
}

export interface SkuLine {
  sku: string;
  total: number;
  available: number;
  held: number;
  sold: number;
  perUser: number;
  demandUnits: number;
  demandCarts: number;
  mysql: StockRow | null;
  booksMatch: boolean;
}

export interface DemoReport {
  version: number;
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  options: DemoOptions;
  /** Where the figures were measured: other load on the machine changes them a lot. */
  machine: { cpus: number; node: string; loadAvgAtStart: number[]; loadAvgAtEnd: number[] };
  target: {
    redis: string;
    mysql: string;
    namespace: string;
    namespaceDeleted: boolean;
    database: string;
    databaseRecreated: boolean;
    shard: string;
  };
  fleet: {
    replicas: number;
    env: Record<string, string>;
    restarts: Record<string, number>;
    killedOnStop: number;
  };
  crowd: CrowdResult & {
    users: number;
    ratePerSec: number;
    producers: number;
    startedAt: number;
    sendDoneAt: number;
    sendMs: number;
  };
  outcomes: { total: number; byStatus: Record<string, number>; byType: Record<string, number> };
  hot: SkuLine & { buyersWanting: number; soldOutAtMs: number | null };
  warm: {
    skus: number;
    total: number;
    sold: number;
    held: number;
    available: number;
    soldOut: number;
    demandUnits: number;
  };
  skus: SkuLine[];
  invariants: {
    noOversell: Check;
    conservation: Check;
    effectivelyOnce: Check;
    nothingLost: Check;
    holdsExpire: Check;
    reconcilerVariance: Check;
  };
  /** SKUs that broke no-oversell or conservation anywhere (must be 0). */
  oversells: number;
  reconcile: {
    variance: number;
    inFlightEntries: number;
    skus: number;
    runsDuringDemo: number;
    maxVarianceDuringDemo: number;
    maxInFlightDuringDemo: number;
  };
  /** Outcomes from the first XADD to the last decision of a producer's event. */
  throughput: {
    decisions: number;
    durationMs: number;
    firstXaddAt: number;
    lastEventDecisionAt: number;
    decisionsPerSec: number;
    /** Largest outcomes-per-second over a 1 s window (250 ms samples). */
    peakDecisionsPerSec: number;
    buyersPerSec: number;
  };
  latency: {
    method: string;
    overall: Percentiles;
    byType: Record<string, Percentiles>;
    histogram: Array<{ le: number | null; count: number }>;
    missingXaddTime: number;
  };
  ledger: {
    changes: number;
    rows: number;
    byKind: Record<string, number>;
    expectedByKind: Record<string, number>;
    lastDecisionAt: number;
    lastCommitAt: number | null;
    drainAfterLastDecisionMs: number | null;
    peakLag: number;
    incidents: number;
  };
  holds: {
    reserved: number;
    expired: number;
    expectedExpired: number;
    active: number;
    maxLatenessMs: number;
    p99LatenessMs: number;
    sweepIntervalMs: number;
    graceMs: number;
    laterThanSweepInterval: number;
  };
  deadLetters: number;
  /** Things worth knowing that are not invariant violations (e.g. the fleet fell behind). */
  notes: string[];
  series: {
    /** Epoch ms of t = 0 (the sampler's start, just before the crowd's first XADD). */
    t0: number;
    intervalMs: number;
    t: number[];
    sent: number[];
    outcomes: number[];
    decisionsPerSec: number[];
    ledgerLag: number[];
    eventBacklog: number[];
    ledgerRows: Array<number | null>;
    activeHolds: number[];
    sold: number[];
    variance: Array<number | null>;
  };
  durations: {
    setupMs: number;
    crowdMs: number;
    settleMs: number;
    checksMs: number;
    totalMs: number;
  };
}

export interface ReportInputs {
  options: DemoOptions;
  loadAvgAtStart: number[];
  startedAt: number;
  target: DemoReport['target'];
  fleet: DemoReport['fleet'];
  crowd: CrowdResult;
  crowdStartedAt: number;
  sendDoneAt: number;
  users: number;
  demand: Map<string, { units: number; carts: number }>;
  /** Every admin entry the demo sent, by kind. */
  adminByKind: Record<string, number>;
  /** Units armed per SKU. */
  armed: Map<string, number>;
  redisStock: StockRow[];
  perUser: Map<string, number>;
  mysqlStock: StockRow[];
  mysqlLedger: { rows: number; changes: number; byKind: Record<string, number> };
  lastCommitAt: number | null;
  incidents: number;
  deadLetters: number;
  activeHolds: number;
  outcomes: {
    byEvent: Map<string, OutcomeRecord>;
    repeated: string[];
    count: number;
    byStatus: Record<string, number>;
    byType: Record<string, number>;
    lastAt: number;
  };
  xaddMs: Map<string, number>;
  eventsSeen: number;
  samples: Sample[];
  samplerT0: number;
  sampleIntervalMs: number;
  sampleViolations: string[];
  stockSamples: number;
  hotSoldOutAt: number | null;
  audit: AuditRun[];
  reconcile: ReconcileReport[];
  sweepIntervalMs: number;
  durations: DemoReport['durations'];
}

const n = (v: number) => Math.round(v).toLocaleString('en-US');
const FIELDS = ['total', 'available', 'held', 'sold'] as const;

function violationsOf(r: StockRow): string[] {
  const out: string[] = [];
  if (r.available < 0) out.push(`available ${r.available} < 0`);
  if (r.held < 0 || r.sold < 0) out.push(`negative held/sold`);
  if (r.held + r.sold > r.total) out.push(`held+sold ${r.held + r.sold} > total ${r.total}`);
  return out;
}

export function buildReport(x: ReportInputs): DemoReport {
  const mysqlBySku = new Map(x.mysqlStock.map((r) => [r.sku, r]));
  const redisBySku = new Map(x.redisStock.map((r) => [r.sku, r]));
  const allSkus = [
    ...new Set([...redisBySku.keys(), ...mysqlBySku.keys(), ...x.armed.keys()]),
  ].sort(skuOrder);

  // ── per-SKU lines
  const skus: SkuLine[] = allSkus.map((sku) => {
    const r = redisBySku.get(sku) ?? { sku, total: 0, available: 0, held: 0, sold: 0 };
    const m = mysqlBySku.get(sku) ?? null;
    const d = x.demand.get(sku) ?? { units: 0, carts: 0 };
    return {
      ...r,
      perUser: x.perUser.get(sku) ?? 0,
      demandUnits: d.units,
      demandCarts: d.carts,
      mysql: m,
      booksMatch: !!m && FIELDS.every((f) => m[f] === r[f]) && redisBySku.has(sku),
    };
  });

  // ── 1. no oversell (end state on both sides, and Redis at every sample)
  const oversold = new Set<string>();
  const oversellDetail: string[] = [];
  for (const [side, rows] of [
    ['Redis', x.redisStock],
    ['MySQL', x.mysqlStock],
  ] as const) {
    for (const r of rows) {
      const v = violationsOf(r);
      if (v.length) {
        oversold.add(r.sku);
        oversellDetail.push(`${side} ${r.sku}: ${v.join(', ')}`);
      }
    }
  }
  for (const v of x.sampleViolations) {
    const sku = /: ([^:]+): /.exec(v)?.[1];
    if (sku && !v.includes('≠')) oversold.add(sku);
  }
  const sampleOversells = x.sampleViolations.filter((v) => !v.includes('≠'));
  const noOversell: Check = {
    ok: oversold.size === 0,
    title: 'No oversell',
    detail:
      oversold.size === 0
        ? `available ≥ 0 and held + sold ≤ total for all ${allSkus.length} SKUs — in Redis and MySQL at the end, and in Redis at each of ${n(x.stockSamples)} samples taken every ${x.sampleIntervalMs} ms`
        : `${oversold.size} SKU(s) oversold: ${[...oversellDetail, ...sampleOversells].slice(0, 5).join('; ')}`,
  };

  // ── 2. conservation
  const consProblems: string[] = [];
  for (const [side, rows] of [
    ['Redis', x.redisStock],
    ['MySQL', x.mysqlStock],
  ] as const) {
    for (const r of rows) {
      if (r.available + r.held + r.sold !== r.total)
        consProblems.push(
          `${side} ${r.sku}: available+held+sold ${r.available + r.held + r.sold} ≠ total ${r.total}`,
        );
      const armed = x.armed.get(r.sku);
      if (armed !== undefined && r.total !== armed)
        consProblems.push(`${side} ${r.sku}: total ${r.total} ≠ ${armed} units armed`);
    }
  }
  for (const sku of x.armed.keys())
    if (!redisBySku.has(sku)) consProblems.push(`Redis has no ${sku}`);
  const sampleCons = x.sampleViolations.filter((v) => v.includes('≠'));
  consProblems.push(...sampleCons);
  for (const sku of sampleCons.map((v) => /: ([^:]+): /.exec(v)?.[1]).filter(Boolean))
    oversold.add(sku!);
  const conservation: Check = {
    ok: consProblems.length === 0,
    title: 'Conservation',
    detail: consProblems.length
      ? consProblems.slice(0, 5).join('; ')
      : `available + held + sold = total for all ${allSkus.length} SKUs (Redis at every sample and at the end, MySQL at the end); every total equals the units armed (${n([...x.armed.values()].reduce((a, b) => a + b, 0))})`,
  };

  // ── 3. effectively once: exactly one outcome per event_id
  let missing = 0;
  const missingIds: string[] = [];
  for (const ev of x.xaddMs.keys()) {
    if (!x.outcomes.byEvent.has(ev)) {
      missing++;
      if (missingIds.length < 5) missingIds.push(ev);
    }
  }
  let unknown = 0;
  for (const [ev, o] of x.outcomes.byEvent) if (o.type !== 'expire' && !x.xaddMs.has(ev)) unknown++;
  const expectedEvents = x.crowd.sent + x.crowd.followUps;
  const onceProblems: string[] = [];
  if (x.outcomes.repeated.length)
    onceProblems.push(
      `${x.outcomes.repeated.length} event_id(s) with more than one outcome (e.g. ${x.outcomes.repeated.slice(0, 3).join(', ')})`,
    );
  if (missing)
    onceProblems.push(`${missing} event(s) without an outcome (e.g. ${missingIds.join(', ')})`);
  if (unknown) onceProblems.push(`${unknown} outcome(s) for events nobody sent`);
  if (x.eventsSeen !== expectedEvents)
    onceProblems.push(
      `the tap saw ${x.eventsSeen} checkout:events entries, the crowd sent ${expectedEvents}`,
    );
  const effectivelyOnce: Check = {
    ok: onceProblems.length === 0,
    title: 'Effectively once',
    detail: onceProblems.length
      ? onceProblems.join('; ')
      : `each of the ${n(expectedEvents)} events (${n(x.crowd.sent)} reserves, ${n(x.crowd.followUps)} confirms/cancels) has exactly one outcome; ${n(x.outcomes.byType.expire ?? 0)} expiries, each with its own event_id; no ledger change written twice (MySQL primary key (change_id, sku), changes counted below)`,
  };

  // ── 4. nothing lost: MySQL = Redis per SKU, ledger changes = state changes
  const st = x.outcomes.byStatus;
  const expectedByKind: Record<string, number> = {
    ...x.adminByKind,
    reserve: st.reserved ?? 0,
    confirm: st.confirmed ?? 0,
    cancel: st.cancelled ?? 0,
    expire: st.expired ?? 0,
  };
  if (st.extended) expectedByKind.extend = st.extended;
  const expectedChanges = Object.values(expectedByKind).reduce((a, b) => a + b, 0);
  const mismatched = skus.filter((s) => !s.booksMatch);
  const lostProblems: string[] = [];
  if (mismatched.length)
    lostProblems.push(
      `${mismatched.length} SKU(s) differ between MySQL and Redis (e.g. ${mismatched
        .slice(0, 3)
        .map(
          (s) =>
            `${s.sku}: redis sold ${s.sold} held ${s.held}, mysql ${s.mysql ? `sold ${s.mysql.sold} held ${s.mysql.held}` : 'missing'}`,
        )
        .join('; ')})`,
    );
  for (const k of new Set([...Object.keys(expectedByKind), ...Object.keys(x.mysqlLedger.byKind)])) {
    const want = expectedByKind[k] ?? 0;
    const got = x.mysqlLedger.byKind[k] ?? 0;
    if (want !== got)
      lostProblems.push(`ledger ${k}: ${got} changes in MySQL, ${want} state changes`);
  }
  if (x.deadLetters) lostProblems.push(`${x.deadLetters} dead letter(s)`);
  if (x.incidents) lostProblems.push(`${x.incidents} unresolved ledger incident(s)`);
  const nothingLost: Check = {
    ok: lostProblems.length === 0,
    title: 'Nothing lost',
    detail: lostProblems.length
      ? lostProblems.join('; ')
      : `MySQL = Redis for all ${skus.length} SKUs; ${n(x.mysqlLedger.changes)} ledger changes in MySQL (${n(x.mysqlLedger.rows)} rows) = ${n(expectedChanges)} state changes (${Object.entries(
          expectedByKind,
        )
          .map(([k, v]) => `${k} ${n(v)}`)
          .join(', ')}); 0 dead letters, 0 ledger incidents`,
  };

  // ── 5. holds expire
  const reservedByCheckout = new Map<string, number>();
  for (const o of x.outcomes.byEvent.values())
    if (o.status === 'reserved' && o.expiresAt) reservedByCheckout.set(o.checkoutId, o.expiresAt);
  const lateness: number[] = [];
  for (const o of x.outcomes.byEvent.values()) {
    if (o.status !== 'expired') continue;
    const due = reservedByCheckout.get(o.checkoutId);
    if (due !== undefined) lateness.push(o.at - due);
  }
  const late = percentiles(lateness);
  const early = lateness.filter((l) => l < 0).length;
  const expectedExpired = (st.reserved ?? 0) - (st.confirmed ?? 0) - (st.cancelled ?? 0);
  const heldLeft =
    x.redisStock.reduce((a, r) => a + r.held, 0) + x.mysqlStock.reduce((a, r) => a + r.held, 0);
  const holdProblems: string[] = [];
  if (x.activeHolds) holdProblems.push(`${x.activeHolds} hold(s) still active`);
  if (heldLeft) holdProblems.push(`${heldLeft} unit(s) still held`);
  if ((st.expired ?? 0) !== expectedExpired)
    holdProblems.push(
      `${st.expired ?? 0} expired, but ${expectedExpired} holds were neither confirmed nor cancelled`,
    );
  if (early) holdProblems.push(`${early} hold(s) expired before their deadline`);
  const bound = x.sweepIntervalMs + EXPIRY_GRACE_MS;
  const overStrict = lateness.filter((l) => l > x.sweepIntervalMs).length;
  if (late.max > bound)
    holdProblems.push(
      `a hold was released ${late.max} ms after its deadline (bound: one sweep interval, ${x.sweepIntervalMs} ms, + ${EXPIRY_GRACE_MS} ms scheduling grace)`,
    );
  const holdsExpire: Check = {
    ok: holdProblems.length === 0,
    title: 'Holds expire',
    detail: holdProblems.length
      ? holdProblems.join('; ')
      : `0 active holds, 0 units held; all ${n(expectedExpired)} holds neither confirmed nor cancelled expired, at most ${n(late.max)} ms after their deadline (p99 ${n(late.p99)} ms; ${overStrict ? `${n(overStrict)} later than one sweep interval, ${x.sweepIntervalMs} ms; ` : ''}bound checked: sweep interval + ${EXPIRY_GRACE_MS} ms scheduling grace)`,
  };

  // ── reconciler
  const final = x.reconcile.reduce((a, r) => a + r.totalAbsVariance, 0);
  const inFlight = x.reconcile.reduce((a, r) => a + r.inFlightEntries, 0);
  const maxRun = x.audit.reduce((a, r) => Math.max(a, Math.abs(r.variance)), 0);
  const maxInFlight = x.audit.reduce((a, r) => Math.max(a, r.inFlight), 0);
  const badRuns = x.audit.filter((r) => r.variance !== 0).length;
  const reconcilerVariance: Check = {
    ok: final === 0 && badRuns === 0,
    title: 'Reconciler variance 0',
    detail:
      `final reconcileAll: variance ${final} (${inFlight} ledger entries in flight, ${x.reconcile.reduce((a, r) => a + r.skus, 0)} SKUs); ` +
      `the reconciler service ran ${x.audit.length} time(s) during the demo: ${badRuns ? `${badRuns} run(s) with variance, max ${maxRun}` : 'variance 0 every time'}, with up to ${n(maxInFlight)} entries in flight`,
  };

  // ── latency: XADD entry id (ms) → outcome `at` (ms), both Redis' clock
  const all: number[] = [];
  const byTypeVals: Record<string, number[]> = {};
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
    (byTypeVals[o.type] ??= []).push(d);
  }

  // ── throughput: from the first XADD to the last decision of a producer's event (the
  // expiries that follow alone are just the holds running out), counting every outcome in it.
  let firstXadd = Infinity;
  for (const t of x.xaddMs.values()) if (t < firstXadd) firstXadd = t;
  if (!Number.isFinite(firstXadd)) firstXadd = x.crowdStartedAt;
  let lastEventAt = firstXadd;
  for (const o of x.outcomes.byEvent.values())
    if (o.type !== 'expire' && o.at > lastEventAt) lastEventAt = o.at;
  let inWindow = 0;
  for (const o of x.outcomes.byEvent.values()) if (o.at <= lastEventAt) inWindow++;
  const durationMs = Math.max(1, lastEventAt - firstXadd);
  const peak = x.samples.reduce((a, s) => Math.max(a, s.decisionsPerSec), 0);

  const hotLine = skus.find((s) => s.sku === HOT_SKU)!;
  const warmLines = skus.filter((s) => s.sku !== HOT_SKU);
  const sum = (f: (s: SkuLine) => number) => warmLines.reduce((a, s) => a + f(s), 0);

  const notes: string[] = [];
  const lateFollowUps = (st['rejected:hold_expired'] ?? 0) + (st['rejected:unknown_hold'] ?? 0);
  const followUps = Math.max(1, x.crowd.followUps);
  if (lateFollowUps / followUps > 0.01) {
    const p50 = percentiles(all).p50;
    notes.push(
      `the fleet fell behind the arrival rate: ${n(lateFollowUps)} of ${n(x.crowd.followUps)} confirms/cancels came after their hold had expired ` +
        `(decision latency p50 ${n(p50)} ms vs holds of ${x.options.holdSeconds} s); this machine cannot sustain --rate ${x.options.rate || 'unlimited'}: lower it`,
    );
  }
  if (x.crowd.sent < x.options.buyers)
    notes.push(`only ${n(x.crowd.sent)} of ${n(x.options.buyers)} buyers were sent`);

  const invariants = {
    noOversell,
    conservation,
    effectivelyOnce,
    nothingLost,
    holdsExpire,
    reconcilerVariance,
  };
  const ok = Object.values(invariants).every((c) => c.ok);
  return {
    version: REPORT_VERSION,
    ok,
    startedAt: new Date(x.startedAt).toISOString(),
    finishedAt: new Date().toISOString(),
    options: x.options,
    machine: {
      cpus: cpus().length,
      node: process.version,
      loadAvgAtStart: x.loadAvgAtStart.map((v) => Math.round(v * 100) / 100),
      loadAvgAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
    },
    target: x.target,
    fleet: x.fleet,
    crowd: {
      ...x.crowd,
      users: x.users,
      ratePerSec: x.options.rate,
      producers: x.options.producers,
      startedAt: x.crowdStartedAt,
      sendDoneAt: x.sendDoneAt,
      sendMs: x.sendDoneAt - x.crowdStartedAt,
    },
    outcomes: { total: x.outcomes.count, byStatus: x.outcomes.byStatus, byType: x.outcomes.byType },
    hot: {
      ...(hotLine ?? emptyLine(HOT_SKU)),
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
    skus,
    invariants,
    oversells: oversold.size,
    reconcile: {
      variance: final,
      inFlightEntries: inFlight,
      skus: x.reconcile.reduce((a, r) => a + r.skus, 0),
      runsDuringDemo: x.audit.length,
      maxVarianceDuringDemo: maxRun,
      maxInFlightDuringDemo: maxInFlight,
    },
    throughput: {
      decisions: inWindow,
      durationMs,
      firstXaddAt: firstXadd,
      lastEventDecisionAt: lastEventAt,
      decisionsPerSec: Math.round((inWindow * 1000) / durationMs),
      peakDecisionsPerSec: peak,
      buyersPerSec: Math.round(
        (x.crowd.sent * 1000) / Math.max(1, x.sendDoneAt - x.crowdStartedAt),
      ),
    },
    latency: {
      method:
        "per event: outcome `at` (ms, Redis clock, set by the deciding Lua call) minus the ms part of the event's checkout:events entry id (assigned by Redis at XADD); entry ids read by the demo's own NOACK consumer group, which keeps the services from trimming an entry before it was read",
      overall: percentiles(all),
      byType: Object.fromEntries(Object.entries(byTypeVals).map(([k, v]) => [k, percentiles(v)])),
      histogram: histogram(all, [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]),
      missingXaddTime: missingXadd,
    },
    ledger: {
      changes: x.mysqlLedger.changes,
      rows: x.mysqlLedger.rows,
      byKind: x.mysqlLedger.byKind,
      expectedByKind,
      lastDecisionAt: x.outcomes.lastAt,
      lastCommitAt: x.lastCommitAt,
      drainAfterLastDecisionMs:
        x.lastCommitAt === null ? null : Math.max(0, x.lastCommitAt - x.outcomes.lastAt),
      peakLag: x.samples.reduce((a, s) => Math.max(a, s.ledgerLag), 0),
      incidents: x.incidents,
    },
    holds: {
      reserved: st.reserved ?? 0,
      expired: st.expired ?? 0,
      expectedExpired,
      active: x.activeHolds,
      maxLatenessMs: late.max,
      p99LatenessMs: late.p99,
      sweepIntervalMs: x.sweepIntervalMs,
      graceMs: EXPIRY_GRACE_MS,
      laterThanSweepInterval: overStrict,
    },
    deadLetters: x.deadLetters,
    notes,
    series: {
      t0: x.samplerT0,
      intervalMs: x.sampleIntervalMs,
      t: x.samples.map((s) => s.t),
      sent: x.samples.map((s) => s.sent),
      outcomes: x.samples.map((s) => s.outcomes),
      decisionsPerSec: x.samples.map((s) => s.decisionsPerSec),
      ledgerLag: x.samples.map((s) => s.ledgerLag),
      eventBacklog: x.samples.map((s) => s.eventBacklog),
      ledgerRows: x.samples.map((s) => s.ledgerRows),
      activeHolds: x.samples.map((s) => s.activeHolds),
      sold: x.samples.map((s) => s.sold),
      variance: x.samples.map((s) => s.variance),
    },
    durations: x.durations,
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

/** HOT-1 first, then WARM-1, WARM-2, … in numeric order, then anything else. */
export function skuOrder(a: string, b: string): number {
  const key = (s: string) => {
    const m = /^([A-Z]+)-(\d+)$/.exec(s);
    return m ? [m[1] === 'HOT' ? 0 : m[1] === 'WARM' ? 1 : 2, Number(m[2]), s] : [3, 0, s];
  };
  const [a0, a1, a2] = key(a) as [number, number, string];
  const [b0, b1, b2] = key(b) as [number, number, string];
  return a0 - b0 || a1 - b1 || (a2 < b2 ? -1 : a2 > b2 ? 1 : 0);
}
