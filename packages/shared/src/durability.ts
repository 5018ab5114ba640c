/**
 * Waiting for Redis replicas (REDIS_WAIT_REPLICAS): the setting that narrows the failover window
 * (docs/cluster.md, "The failover window").
 *
 * Redis replicates asynchronously, so a primary killed before its replica got a write loses it
 * when the replica is promoted. `WAIT n timeout` blocks until n replicas acknowledged every write
 * *this connection* made — it is per connection (the client's last write offset): on a
 * connection that wrote nothing it returns at once, whatever other clients wrote. So each wait
 * first makes a write of its own on the shard's node that replicates after everything before it:
 * `XCLAIM <stream> <group> <consumer> 0 <ids…> JUSTID` of the batch the caller holds (what
 * StreamWorker.touch does anyway: it only resets the entries' idle time). Its reply is useful
 * too: the ids this node still has pending for us — after a failover, entries read from the old
 * primary that the new one never received are missing from it.
 *
 * Fence and WAIT go in one pipeline with the stream's key, so on Redis Cluster they reach the
 * node that serves the shard's slot (ioredis sends keyless commands of a pipeline with it).
 * A wait never asks for more replicas than the primary has: on Cluster, the replicas CLUSTER
 * NODES lists for it that are not marked `fail` — a replica whose link is down but that could
 * still be promoted *is* counted (that is the replica a failover would lose writes to), a dead
 * one is not, and after a failover the new primary has none until the old node returns, so it
 * is not waited on in vain at every batch. On a single Redis, the replicas ROLE lists as
 * connected. The count is refreshed in the same pipeline at most once a second.
 *
 * The caller uses a client of its own for the shard (the lane's blocking reader, idle while its
 * batch is handled): WAIT blocks its connection, and on a shared one it would hold every other
 * command to that node.
 */
import type { Logger } from './logger.js';
import { prom, type Registry } from './metrics.js';
import type { ChainableCommander } from 'ioredis';
import type { Redis } from './redis.js';

export interface DurabilitySettings {
  /** REDIS_WAIT_REPLICAS: 0 = off. */
  replicas: number;
  /** REDIS_WAIT_TIMEOUT_MS: the longest one WAIT blocks. */
  timeoutMs: number;
}

export function durabilitySettings(cfg: {
  REDIS_WAIT_REPLICAS: number;
  REDIS_WAIT_TIMEOUT_MS: number;
}): DurabilitySettings {
  return { replicas: cfg.REDIS_WAIT_REPLICAS, timeoutMs: cfg.REDIS_WAIT_TIMEOUT_MS };
}

export function durabilityMetrics(registry: Registry) {
  return {
    waits: new prom.Counter({
      name: 'holdfast_redis_wait_total',
      help:
        'Waits for Redis replicas (REDIS_WAIT_REPLICAS), by shard and result: ok, short (fewer ' +
        'replicas acknowledged within REDIS_WAIT_TIMEOUT_MS), none (the primary has no replica to wait for), error.',
      labelNames: ['shard', 'result'],
      registers: [registry],
    }),
    seconds: new prom.Histogram({
      name: 'holdfast_redis_wait_seconds',
      help: 'Time of one fence + WAIT round trip on the shard’s node.',
      labelNames: ['shard'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
export type DurabilityMetrics = ReturnType<typeof durabilityMetrics>;

export interface WaitResult {
  /**
   * 'ok': enough replicas have the writes; 'short': fewer within the timeout; 'none': the primary
   * has no replica (nothing to wait for); 'off': the setting is 0.
   */
  result: 'ok' | 'short' | 'none' | 'off';
  /** Replicas asked for (REDIS_WAIT_REPLICAS, at most as many as the primary has). */
  wanted: number;
  /** Replicas that acknowledged. */
  acked: number;
  /** Of the ids fenced, those the node still has pending for this consumer. */
  present: Set<string>;
}

/** How often the number of replicas the primary has is read again. */
const COUNT_EVERY_MS = 1_000;

/** One shard's waits, on the shard's own client (see the module comment). */
export class ReplicaWait {
  /** Replicas of the shard's primary at the last count; unknown at first. */
  private replicaCount: number | undefined;
  private countedAt = 0;
  private lastWarnAt = 0;

  constructor(
    private readonly o: {
      client: Redis;
      shard: string;
      /** What wait(ids) re-claims as its own write (the entries the caller holds pending). */
      fence?: { stream: string; group: string; consumer: string };
      settings: DurabilitySettings;
      metrics: DurabilityMetrics;
    },
  ) {}

  get enabled(): boolean {
    return this.o.settings.replicas > 0;
  }

  /**
   * Fences the pending entries `ids` on the shard's node and waits until the replicas have every
   * write made on that node so far. Throws what Redis throws (a node down, a failover under way).
   * Needs `fence` (the stream, group and consumer the ids are pending for).
   */
  async wait(ids: string[]): Promise<WaitResult> {
    const f = this.o.fence;
    if (!f) throw new Error('ReplicaWait.wait needs a fence (stream, group, consumer)');
    if (!this.enabled || !ids.length)
      return { result: 'off', wanted: 0, acked: 0, present: new Set(ids) };
    const { replies, wait } = await this.after((p) => {
      p.xclaim(f.stream, f.group, f.consumer, 0, ...ids, 'JUSTID');
    });
    return { ...wait, present: new Set((replies[0]![1] as string[]).map(String)) };
  }

  /**
   * Runs the commands `queue` adds (writes in the shard's slot), then WAIT, in one pipeline on
   * the shard's client: the same connection, so WAIT covers exactly those writes and everything
   * before them on the node. Returns their replies (errors included, as a pipeline gives them)
   * and the wait's result (`present` empty). With the setting off, only `queue`'s commands run.
   */
  async after(
    queue: (p: ChainableCommander) => void,
  ): Promise<{ replies: Array<[Error | null, unknown]>; wait: WaitResult }> {
    const { client, settings, metrics, shard } = this.o;
    const p = client.pipeline();
    queue(p);
    const own = p.length;
    if (!this.enabled) {
      const replies = ((await p.exec()) ?? []) as Array<[Error | null, unknown]>;
      return { replies, wait: { result: 'off', wanted: 0, acked: 0, present: new Set() } };
    }
    const wanted = Math.min(settings.replicas, this.replicaCount ?? settings.replicas);
    const count = Date.now() - this.countedAt >= COUNT_EVERY_MS;
    if (wanted > 0) p.call('WAIT', wanted, settings.timeoutMs);
    if (count) {
      if (client.isCluster) p.call('CLUSTER', 'NODES');
      else p.call('ROLE');
    }
    const end = metrics.seconds.startTimer({ shard });
    let res: Array<[Error | null, unknown]>;
    try {
      res = ((await p.exec()) ?? []) as Array<[Error | null, unknown]>;
    } catch (err) {
      metrics.waits.inc({ shard, result: 'error' });
      throw err;
    } finally {
      end();
    }
    const expected = own + (wanted > 0 ? 1 : 0) + (count ? 1 : 0);
    const replies = res.slice(0, own);
    const failed = res.find(([err]) => err);
    if (failed || res.length !== expected) {
      metrics.waits.inc({ shard, result: 'error' });
      throw failed?.[0] ?? new Error(`WAIT pipeline: ${res.length} replies, ${expected} expected`);
    }
    const acked = wanted > 0 ? Number(res[own]![1]) : 0;
    if (count) {
      const reply = res[expected - 1]![1];
      this.replicaCount = client.isCluster
        ? clusterReplicas(String(reply))
        : roleReplicas(reply as [string, number, unknown[]]);
      this.countedAt = Date.now();
    }
    const result = wanted === 0 ? 'none' : acked >= wanted ? 'ok' : 'short';
    metrics.waits.inc({ shard, result });
    return { replies, wait: { result, wanted, acked, present: new Set() } };
  }

  /** At most one warning a second per shard: a lagging replica would otherwise log every batch. */
  warnShort(log: Logger, r: WaitResult, what: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < 1_000) return;
    this.lastWarnAt = now;
    log.warn(
      {
        shard: this.o.shard,
        wanted: r.wanted,
        acked: r.acked,
        timeoutMs: this.o.settings.timeoutMs,
      },
      `Redis replicas behind (WAIT short): ${what}`,
    );
  }
}

/**
 * CLUSTER NODES as the node sees it: the replicas of this node (a primary) not marked `fail`.
 * `<id> <addr> <flags> <primary id> …` per line; 0 when this node is not a primary.
 */
export function clusterReplicas(nodes: string): number {
  const lines = nodes
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split(' '));
  const me = lines.find((l) => (l[2] ?? '').split(',').includes('myself'));
  if (!me || !(me[2] ?? '').split(',').includes('master')) return 0;
  return lines.filter((l) => l[3] === me[0] && !(l[2] ?? '').split(',').includes('fail')).length;
}

/** ROLE of a single Redis: `['master', offset, [[ip, port, offset], …]]`; 0 on a replica. */
function roleReplicas(role: [string, number, unknown[]]): number {
  return role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
}
