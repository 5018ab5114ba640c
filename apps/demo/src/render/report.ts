/**
 * Phase 5, the report: report.json's shape (DemoReport) and its assembly from the verdicts
 * (../check) and the figures (./figures.ts). Pure: all I/O happens before (the observers, the
 * end state) and after (./write.ts).
 */
import { cpus, loadavg } from 'node:os';
import type { StockRow } from '@holdfast/shared/inspect';
import type { CrowdResult } from '@holdfast/crowd';
import { allHold, oversoldSkus, type Verdicts } from '../check/invariants.js';
import { toCheck, type Check } from '../check/verdict.js';
import type { Observation } from '../observation.js';
import type { DemoOptions } from '../options.js';
import type { DemoClusterInfo } from '../setup/cluster.js';
import type { Percentiles } from '../stats.js';
import {
  hotAndWarm,
  latencyOf,
  ledgerOf,
  notesOf,
  seriesOf,
  skuLines,
  throughputOf,
} from './figures.js';

export const REPORT_VERSION = 1;

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

/** One shard's figures: its SKUs' stock and the outcomes its stream carried. */
export interface ShardLine {
  shard: string;
  /** The port of the primary serving the shard (the demo's own cluster), else null. */
  node: number | null;
  skus: number;
  total: number;
  sold: number;
  held: number;
  outcomes: number;
  reserved: number;
  rejected: number;
  confirmed: number;
  cancelled: number;
  expired: number;
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
    /** HOLDFAST_SHARDS, in order. */
    shards: string[];
    /** The demo's own Redis Cluster (--cluster): its nodes (port, pid) and the shards on each. */
    cluster: DemoClusterInfo | null;
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
  /** Per shard (one line when there is one shard). */
  shards: ShardLine[];
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

export interface ReportInputs extends Observation {
  verdicts: Verdicts;
  loadAvgAtStart: number[];
  startedAt: number;
  target: DemoReport['target'];
  fleet: DemoReport['fleet'];
  durations: DemoReport['durations'];
}

export function buildReport(x: ReportInputs): DemoReport {
  const v = x.verdicts;
  const skus = skuLines(x);
  const latency = latencyOf(x);
  return {
    version: REPORT_VERSION,
    ok: allHold(v),
    startedAt: new Date(x.startedAt).toISOString(),
    finishedAt: new Date().toISOString(),
    options: x.options,
    machine: machineOf(x.loadAvgAtStart),
    target: x.target,
    fleet: x.fleet,
    crowd: crowdOf(x),
    outcomes: { total: x.outcomes.count, byStatus: x.outcomes.byStatus, byType: x.outcomes.byType },
    ...hotAndWarm(skus, x),
    skus,
    shards: shardLines(x),
    invariants: invariantsOf(v),
    oversells: oversoldSkus(v).length,
    reconcile: reconcileOf(v),
    throughput: throughputOf(x),
    latency,
    ledger: ledgerOf(x, v.nothingLost),
    holds: holdsOf(x, v),
    deadLetters: x.deadLetters,
    notes: notesOf(x, latency),
    series: seriesOf(x),
    durations: x.durations,
  };
}

/** Each shard's SKUs (by the run's placement) and outcomes (by the stream they came on). */
function shardLines(x: ReportInputs): ShardLine[] {
  return x.target.shards.map((shard) => {
    const rows = x.redisStock.filter((r) => (x.placement.get(r.sku) ?? shard) === shard);
    const o = x.outcomes.byShard[shard] ?? { count: 0, byStatus: {}, byType: {} };
    const rejected = Object.entries(o.byStatus)
      .filter(([k]) => k.startsWith('rejected'))
      .reduce((n, [, v]) => n + v, 0);
    return {
      shard,
      node: x.target.cluster?.nodes.find((n) => n.shards.includes(shard))?.port ?? null,
      skus: rows.length,
      total: rows.reduce((n, r) => n + r.total, 0),
      sold: rows.reduce((n, r) => n + r.sold, 0),
      held: rows.reduce((n, r) => n + r.held, 0),
      outcomes: o.count,
      reserved: o.byStatus.reserved ?? 0,
      rejected,
      confirmed: o.byStatus.confirmed ?? 0,
      cancelled: o.byStatus.cancelled ?? 0,
      expired: o.byStatus.expired ?? 0,
    };
  });
}

/** The verdicts as report.json shows them. */
function invariantsOf(v: Verdicts): DemoReport['invariants'] {
  return {
    noOversell: toCheck(v.noOversell),
    conservation: toCheck(v.conservation),
    effectivelyOnce: toCheck(v.effectivelyOnce),
    nothingLost: toCheck(v.nothingLost),
    holdsExpire: toCheck(v.holdsExpire),
    reconcilerVariance: toCheck(v.reconcilerVariance),
  };
}

function machineOf(loadAvgAtStart: number[]): DemoReport['machine'] {
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    cpus: cpus().length,
    node: process.version,
    loadAvgAtStart: loadAvgAtStart.map(round),
    loadAvgAtEnd: loadavg().map(round),
  };
}

function crowdOf(x: ReportInputs): DemoReport['crowd'] {
  return {
    ...x.crowd,
    users: x.users,
    ratePerSec: x.options.rate,
    producers: x.options.producers,
    startedAt: x.crowdStartedAt,
    sendDoneAt: x.sendDoneAt,
    sendMs: x.sendDoneAt - x.crowdStartedAt,
  };
}

function reconcileOf({ reconcilerVariance: { details: d } }: Verdicts): DemoReport['reconcile'] {
  return {
    variance: d.variance,
    inFlightEntries: d.inFlight,
    skus: d.skus,
    runsDuringDemo: d.runs,
    maxVarianceDuringDemo: d.maxVariance,
    maxInFlightDuringDemo: d.maxInFlight,
  };
}

function holdsOf(x: ReportInputs, { holdsExpire: { details: d } }: Verdicts): DemoReport['holds'] {
  return {
    reserved: x.outcomes.byStatus.reserved ?? 0,
    expired: d.expired,
    expectedExpired: d.expectedExpired,
    active: d.active,
    maxLatenessMs: d.maxLatenessMs,
    p99LatenessMs: d.p99LatenessMs,
    sweepIntervalMs: d.sweepIntervalMs,
    graceMs: d.graceMs,
    laterThanSweepInterval: d.laterThanSweepInterval,
  };
}
