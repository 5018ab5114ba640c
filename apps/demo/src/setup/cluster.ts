/**
 * `holdfast demo --cluster`: the demo's own local Redis Cluster (3 primaries on loopback, from
 * redis-server children, @holdfast/fleet's startRedisCluster) and three shards whose hash tags
 * land on three different primaries. The nodes are the demo's children: DemoContext.close()
 * stops them by pid (also after Ctrl-C or an error), and a process exit SIGKILLs whatever is
 * still running (redis-cluster.ts).
 */
import { shardsOnDistinctPrimaries, startRedisCluster, type RedisCluster } from '@holdfast/fleet';
import { CliError, EXIT, errorMessage } from '@holdfast/shared/tools';
import type { DemoContext } from '../context.js';

/** Shards of a --cluster demo: one per primary. */
export const CLUSTER_SHARDS = 3;

/** What the report says about the demo's own cluster. */
export interface DemoClusterInfo {
  nodes: Array<{ port: number; pid: number; shards: string[] }>;
}

export interface DemoCluster {
  cluster: RedisCluster;
  info: DemoClusterInfo;
  /** The environment the demo and its fleet run with: the cluster's seeds and its shards. */
  env: { REDIS_CLUSTER_NODES: string; HOLDFAST_SHARDS: string };
}

/**
 * Starts the cluster and picks the shards. A REDIS_CLUSTER_NODES of the caller's is refused
 * (--cluster is the demo's own cluster); a HOLDFAST_SHARDS of the caller's is kept as given.
 */
export async function startDemoCluster(
  ctx: DemoContext,
  env: Record<string, string | undefined>,
): Promise<DemoCluster> {
  if (env.REDIS_CLUSTER_NODES) {
    throw new CliError(
      '--cluster starts a Redis Cluster of its own: unset REDIS_CLUSTER_NODES, or drop --cluster ' +
        'to run on the cluster it names',
      EXIT.usage,
    );
  }
  ctx.io.out('starting a local Redis Cluster (3 primaries, redis-server on loopback)…');
  let cluster: RedisCluster;
  try {
    // No replicas: the demo is about shards, and on a small machine every extra redis-server
    // takes CPU from the fleet (failover is the chaos suite's subject). Not abortable: a start
    // cut short would leave nodes nobody stops before exit; it takes a few seconds.
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 0 });
  } catch (err) {
    throw new CliError(`cannot start a local Redis Cluster: ${errorMessage(err)}`);
  }
  // Owned by the context from here on: close() stops it whatever happens next.
  ctx.cluster = cluster;
  ctx.check();
  const given = env.HOLDFAST_SHARDS?.trim();
  const picked = given
    ? await Promise.all(
        given.split(',').map(async (s) => ({
          shard: s.trim(),
          primary: await cluster.primaryFor(`{${s.trim()}}`),
        })),
      )
    : await shardsOnDistinctPrimaries(cluster, CLUSTER_SHARDS);
  const nodes = cluster.nodes.map((n) => ({
    port: n.port,
    pid: n.pid,
    shards: picked.filter((p) => p.primary.port === n.port).map((p) => p.shard),
  }));
  ctx.io.out(
    `  Redis Cluster ${cluster.nodesEnv} (pids ${cluster.nodes.map((n) => n.pid).join(', ')}); shards ` +
      picked.map((p) => `${p.shard} on :${p.primary.port}`).join(', '),
  );
  return {
    cluster,
    info: { nodes },
    env: {
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      HOLDFAST_SHARDS: picked.map((p) => p.shard).join(','),
    },
  };
}
