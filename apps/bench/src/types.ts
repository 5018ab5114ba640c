/** The JSON report's shape (see docs/benchmarks.md). */
import type { CommandStatDiff } from './redis-stats.js';
import type { MachineCpu, ProcessStats } from './proc.js';
import type { LatencySummary } from './stats.js';

export type System = 'A' | 'B' | 'C';

export interface RunResult {
  system: System;
  /** A: 'fleet' (max rate) or 'fleet@80%'; B: 'conditional-update' | 'select-for-update'; C: 'lua-pipeline'. */
  variant: string;
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
  runs: RunResult[];
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
  /** The shard comparison (--shards compare|only), null with --shards off. */
  shards: ShardComparison | null;
}
