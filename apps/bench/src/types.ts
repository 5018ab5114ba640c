/** The JSON report's shape (see docs/benchmarks.md). */
import type { CollateralResult } from './collateral.js';
import type { CommandStatDiff } from './redis-stats.js';
import type { HoldStats } from './rtt-proxy.js';
import type { MachineCpu, ProcessStats } from './proc.js';
import type { LatencySummary } from './stats.js';

export type System = 'A' | 'B' | 'C';

export interface RunResult {
  system: System;
  /** A: 'fleet' (max rate) or 'fleet@80%'; B: 'conditional-update' | 'select-for-update'; C: 'lua-pipeline'. */
  variant: string;
  /** The network round trip added to every connection of the run (--rtt-ms), ms; 0 = direct. */
  rttMs?: number;
  /** A and B: the rest of the shop's MySQL traffic during the run (./collateral.ts). */
  collateral?: CollateralResult;
  buyers: number;
  /** Buyers decided (accepted + rejected); equals `buyers` unless the run hit its time limit. */
  decisions: number;
  accepted: number;
  rejected: number;
  /** Rejections by reason (A/C: the outcome's reason; B: out_of_stock). */
  byReason: Record<string, number>;
  /** Units the accepted decisions took. */
  unitsTaken: number;
  /** Measurement window of the throughput figure, ms (see `throughputDefinition`). */
  wallMs: number;
  decisionsPerSec: number;
  throughputDefinition: string;
  latencyMs: LatencySummary;
  latencyDefinition: string;
  /** A: latency by second of sending (events sent in that second: count, p50, p99, max ms). */
  latencyTimeline?: Array<{
    second: number;
    sent: number;
    p50: number | null;
    p99: number | null;
    max: number | null;
  }>;
  /** Extra latency views (C: per-pipeline time ÷ pipeline size). */
  extraLatencyMs?: Record<string, LatencySummary>;
  /** SKUs whose counters break no-oversell (available < 0 or held + sold > total). */
  oversells: number;
  /** Units sold or held beyond total, summed over SKUs. */
  oversoldUnits: number;
  /** Every invariant violation found at the end (first 50). */
  violations: string[];
  /** A: reconcileAll()'s summed |variance| after the ledger drained (must be 0). */
  variance?: number | null;
  /** A: ms from the last decision until the ledger group had nothing left (lag + pending = 0). */
  drainMs?: number | null;
  /** A: ms from the last producer XADD until the ledger drained. */
  drainAfterLastSendMs?: number | null;
  /** A: achieved producer rate (XADDs/s) and the requested one for rate-limited runs. */
  sendRatePerSec?: number;
  targetRatePerSec?: number;
  /**
   * A, paced runs: how late each XADD was against the producers' schedule (XADD id ms − (first
   * XADD id ms + i ÷ rate)), ms. A late producer sends a burst to catch up: the load generator,
   * not the fleet, then shapes the latency. Entries of one pipeline share its send time, so
   * values down to −(pipeline size ÷ rate) (≈ −5 ms) are on time.
   */
  producerLatenessMs?: LatencySummary;
  processes: ProcessStats[];
  /** A: each service's RSS, V8 heap (total, used) and external memory at the end of the window, MB. */
  serviceMemoryMb?: Record<string, Record<string, number | null>>;
  /** Whole-machine CPU in the window, and what the watched processes don't account for. */
  machineCpu?: MachineCpu;
  /** A, C: Redis commands that took Redis' time during the window (INFO commandstats diff, whole server). */
  redisCommands?: CommandStatDiff[];
  slowlog?: Array<{ at: number; usec: number; command: string }>;
  /**
   * CPU cost per decision, µs: each watched process's CPU seconds ÷ decisions, and Redis'
   * EVALSHA time ÷ decisions (A: forward + reserve scripts, C: reserve only). Shared servers
   * include other users' work in the window.
   */
  perDecisionUs?: {
    cpu: Record<string, number>;
    total: number | null;
    redisEvalsha: number | null;
  };
  /** A with --profile: top functions by self time per service. */
  profiles?: Record<string, unknown>;
  /** True when the run stopped at its time limit (figures cover the decided buyers only). */
  truncated: boolean;
  loadavgStart: [number, number, number];
  loadavgEnd: [number, number, number];
  startedAt: string;
  notes: string[];
  /** Set when the run itself failed (an exception); the run then counts as FAILED. */
  error?: string;
}

export interface ScenarioReport {
  id: number;
  name: string;
  description: string;
  params: Record<string, number | string>;
  /** Every run at every --rtt-ms value (each run says its `rttMs`); `ratios` are of the first r. */
  runs: RunResult[];
  /** Per --rtt-ms value: the proxies' measured hold (none at 0: no proxy). */
  network?: Array<{ rttMs: number; hold: { redis: HoldStats; mysql: HoldStats } | null }>;
  ratios: {
    /** A's decisions/s ÷ the faster B variant's. */
    aOverB: number | null;
    aOverBByVariant: Record<string, number | null>;
    /** A's decisions/s ÷ C's. */
    aOverC: number | null;
    /**
     * Load-independent view: CPU µs one decision costs all the processes of a system (services,
     * servers, producers/clients), and the ratios of those costs (B's ÷ A's, C's ÷ A's) — what
     * the throughput ratios would be on a dedicated machine where CPU is the only limit.
     */
    cpuUsPerDecision: Record<string, number | null>;
    cpuNormalizedAOverB: number | null;
    cpuNormalizedAOverC: number | null;
  };
}

export interface TargetResult {
  target: string;
  scenario: number | null;
  value: number | null;
  threshold: string;
  met: boolean | null;
}

/** One side of the shard comparison (./shard-comparison.ts). */
export interface ShardRun {
  shards: number;
  shardNames: string[];
  decisions: number;
  decisionsPerSec: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** CPU µs per decision of each watched process (services, Redis nodes, MySQL, the bench), and their sum. */
  cpuUsPerDecision: { byProcess: Record<string, number>; total: number | null };
  /** Each Redis Cluster node's CPU in the window (/proc/<pid>/stat utime + stime). */
  redisNodes: Array<{
    name: string;
    pid: number;
    cpuSeconds: number | null;
    cpuPercent: number | null;
    cpuUsPerDecision: number | null;
  }>;
  error?: string;
  scenario: number;
  /** The whole A run, as the scenarios report theirs. */
  result: RunResult;
}

/** report.json's `shards`: A on 1 shard vs 3 shards, both measured in this run. */
export interface ShardComparison {
  scenario: {
    id: number;
    name: string;
    description: string;
    params: Record<string, number | string>;
  };
  scale: number;
  /** What was compared against what (docs/benchmarks.md says why it is the fair comparison). */
  setup: string;
  cluster: {
    primaries: number;
    replicas: number;
    nodes: Array<{ port: number; pid: number; shards: string[] }>;
  } | null;
  runs: ShardRun[];
  /** 3 shards ÷ 1 shard. */
  ratios: { decisionsPerSec: number | null; cpuUsPerDecision: number | null };
  /** Why the comparison makes the benchmark FAILED (empty = it doesn't). */
  failures: string[];
}

/** One scenario at one --rtt-ms value (report.json `summary.scenarios[id].rtt[r]`). */
export interface RttSummary {
  /** A's max decisions/s ÷ the faster B variant's; ÷ C's. */
  ratioAB: number | null;
  ratioAC: number | null;
  /**
   * p99 decision latency, ms: A in its first paced run (`aRun`, e.g. fleet@80%; the max-rate
   * run's p99 is backlog queueing), B of the faster variant (`bRun`).
   */
  p99Ms: { A: number | null; B: number | null };
  /** p99 of the shop's other MySQL traffic during A's max-rate run and during `bRun`. */
  collateralP99Ms: { A: number | null; B: number | null };
  collateralP50Ms: { A: number | null; B: number | null };
  decisionsPerSec: { A: number | null; B: number | null; C: number | null };
  cpuPerDecisionUs: { A: number | null; B: number | null; C: number | null };
  aRun: string | null;
  bRun: string | null;
  /** What the proxies really held each request chunk, ms (null at r = 0). */
  proxyHoldMs: { p50: number | null; p99: number | null } | null;
}

export interface ScenarioSummary {
  /** CPU µs per decision of all of a system's processes at the first --rtt-ms value (B: the cheapest variant). */
  cpuPerDecisionUs: { A: number | null; B: number | null; C: number | null };
  /** Keyed by the r in ms as written (e.g. "0", "0.5", "1"). */
  rtt: Record<string, RttSummary>;
}

export interface BenchSummary {
  rttMs: number[];
  /** Keyed by scenario id ("1", "2", "3"), the scenarios that ran. */
  scenarios: Record<string, ScenarioSummary>;
}

export interface BenchReport {
  version: 1;
  status: 'PASSED' | 'FAILED';
  failures: string[];
  startedAt: string;
  finishedAt: string;
  durationS: number;
  command: string;
  options: Record<string, unknown>;
  machine: Record<string, unknown>;
  load: Record<string, unknown>;
  scenarios: ScenarioReport[];
  targets: TargetResult[];
  /** Per scenario: CPU per decision, and per --rtt-ms the ratios, p99s and collateral (./summary.ts). */
  summary: BenchSummary;
  /** The shard comparison (--shards compare|only), null with --shards off. */
  shards: ShardComparison | null;
}
