/**
 * 1 shard vs 3 shards, in one run: A (the fleet, max rate) on scenario 2 (uniform demand, which
 * spreads over shards; one hot SKU cannot, and carts would cross shards) twice on the same local
 * Redis Cluster of 3 primaries — once with HOLDFAST_SHARDS of one shard (all of its keys on one
 * primary), once with three shards, one per primary. Same cluster, same client code (ioredis
 * Cluster everywhere), same workload, one after the other: the only difference is how many
 * shards, and so primaries, decide. Per run: decisions/s, CPU µs per decision of every process,
 * and each Redis node's CPU (its /proc/<pid>/stat: the nodes are our children).
 *
 * What two cores can show is in docs/benchmarks.md ("1 shard vs 3 shards").
 */
import { shardsOnDistinctPrimaries, startRedisCluster, type RedisCluster } from '@holdfast/fleet';
import { errorMessage } from '@holdfast/shared/tools';
import { runFleet } from './fleet.js';
import { failedRun } from './scenario.js';
import type { BenchOptions } from './options.js';
import type { WatchedProcess } from './proc.js';
import { perDecisionUs, runFailures } from './report.js';
import { uniform } from './scenarios.js';
import type { RunResult, ShardComparison, ShardRun } from './types.js';

export const SHARD_COUNTS = [1, 3] as const;

export async function runShardComparison(
  o: BenchOptions,
  log: (m: string) => void,
  interrupted: () => boolean,
): Promise<ShardComparison> {
  const scale = Math.min(o.scale, o.shardsScale);
  const sc = uniform(scale);
  const base: ShardComparison = {
    scenario: { id: sc.id, name: sc.name, description: sc.description, params: sc.params },
    scale,
    setup:
      'one local Redis Cluster of 3 primaries (no replicas) for both runs; 1 shard = every shard ' +
      'key on one primary, 3 shards = one shard per primary; public streams and routing records ' +
      'wherever their slots are, alike in both runs',
    cluster: null,
    runs: [],
    ratios: { decisionsPerSec: null, cpuUsPerDecision: null },
    failures: [],
  };
  log(`shard comparison: scenario 2 at scale ${scale}, 1 shard vs 3 shards on a local cluster`);
  let cluster: RedisCluster | undefined;
  try {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 0 });
    const picked = await shardsOnDistinctPrimaries(cluster, 3);
    const nodes = cluster.nodes.map((n) => ({
      port: n.port,
      pid: n.pid,
      shards: picked.filter((p) => p.primary.port === n.port).map((p) => p.shard),
    }));
    base.cluster = { primaries: 3, replicas: 0, nodes };
    for (const count of SHARD_COUNTS) {
      if (interrupted()) break;
      const shards = picked.slice(0, count).map((p) => p.shard);
      // Each node named by the shards it serves in this run (the others carry only public keys).
      const processes: WatchedProcess[] = nodes.map((n) => ({
        name: redisNodeName(
          n.port,
          n.shards.filter((s) => shards.includes(s)),
        ),
        pid: n.pid,
        kind: 'server',
      }));
      log(`  A on ${count} shard(s) (${shards.join(',')}) …`);
      base.runs.push(
        await shardRun(sc.id, shards, processes, () =>
          runFleet(sc, o, log, {
            cluster: { nodes: cluster!.nodesEnv.split(','), shards, processes },
          }),
        ),
      );
      const r = base.runs[base.runs.length - 1]!;
      log(
        `  A on ${count} shard(s): ${r.decisionsPerSec} decisions/s, ${r.cpuUsPerDecision.total ?? '–'} CPU µs/decision` +
          (r.error ? ` (failed: ${r.error})` : ''),
      );
    }
  } catch (err) {
    base.failures.push(`shard comparison: ${errorMessage(err)}`);
    log(`  shard comparison failed: ${errorMessage(err)}`);
  } finally {
    await cluster?.stop();
  }
  const [one, three] = base.runs;
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a && b ? Math.round((a / b) * 100) / 100 : null;
  if (one && three && !one.error && !three.error) {
    base.ratios = {
      decisionsPerSec: ratio(three.decisionsPerSec, one.decisionsPerSec),
      cpuUsPerDecision: ratio(three.cpuUsPerDecision.total, one.cpuUsPerDecision.total),
    };
  }
  for (const r of base.runs) base.failures.push(...runFailures(sc.id, r.result));
  return base;
}

/** `redis :21003 (shard b)` or `redis :21003 (no shard)`. */
export function redisNodeName(port: number, shards: string[]): string {
  return `redis :${port} (${shards.length ? `shard ${shards.join(', ')}` : 'no shard'})`;
}

/** One side of the comparison: the run (or its failure) and its figures. */
async function shardRun(
  scenario: number,
  shards: string[],
  nodes: WatchedProcess[],
  fn: () => Promise<RunResult>,
): Promise<ShardRun> {
  let result: RunResult;
  let error: string | undefined;
  try {
    result = await fn();
    result.perDecisionUs = perDecisionUs(result);
  } catch (err) {
    error = errorMessage(err);
    result = failedRun('A', `fleet-${shards.length}-shards`, 0, err);
  }
  const per = result.perDecisionUs;
  const byName = new Map(result.processes.map((p) => [p.name, p]));
  return {
    shards: shards.length,
    shardNames: shards,
    decisions: result.decisions,
    decisionsPerSec: result.decisionsPerSec,
    latencyP50Ms: result.latencyMs.p50,
    latencyP99Ms: result.latencyMs.p99,
    cpuUsPerDecision: {
      byProcess: per?.cpu ?? {},
      total: per?.total ?? null,
    },
    redisNodes: nodes.map((n) => {
      const p = byName.get(n.name);
      return {
        name: n.name,
        pid: n.pid,
        cpuSeconds: p?.cpuSeconds ?? null,
        cpuPercent: p?.cpuPercent ?? null,
        cpuUsPerDecision: per?.cpu[n.name] ?? null,
      };
    }),
    ...(error ? { error } : {}),
    scenario,
    result,
  };
}
