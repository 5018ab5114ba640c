/**
 * The one Redis client factory: a single server (REDIS_URL) or a Redis Cluster
 * (REDIS_CLUSTER_NODES, credentials and TLS from REDIS_URL). Every option is set for a reason.
 *
 * Both kinds are typed `Redis` (ioredis' `Cluster` offers the same commands, pipelines within
 * one slot, and script registration): holdfast's code never depends on which it talks to,
 * because everything one call touches lives under one hash tag (keys.ts).
 */
import { Cluster, Redis as IORedis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './env.js';
import { registerScripts } from './lua/index.js';

/** A client of a single Redis or of a Redis Cluster (see the module comment). */
export type Redis = IORedis;

export interface RedisClientOptions {
  /** Name shown in CLIENT LIST (helps an SRE find whose connection is whose). */
  name: string;
  /**
   * A client used for blocking reads (XREADGROUP BLOCK) must not time commands out — and on a
   * Cluster it must be a client of its own: ioredis keeps one connection per node, and a
   * blocking read on it would stall every other command to that node.
   */
  blocking?: boolean;
}

function serverOptions(opts: RedisClientOptions): RedisOptions {
  const options: RedisOptions = {
    connectionName: opts.name,
    // Commands issued while disconnected wait in the offline queue and are retried on
    // reconnect instead of failing a whole batch; a worker's batch then simply takes longer.
    enableOfflineQueue: true,
    // null = retry a command across reconnects forever (workers) — the caller's own deadlines
    // (shutdown, batch timeouts) bound the wait. The CLI passes its own options.
    maxRetriesPerRequest: null,
    // Reconnect with capped exponential backoff; never give up (a service outlives a Redis restart).
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    // Re-send a command that was in flight when the connection broke only for READONLY
    // (failover); other errors surface to the worker, which leaves the entries pending.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    // Keepalive so a half-open TCP connection (NAT, failover) is noticed.
    keepAlive: 10_000,
    // ioredis' auto-pipelining would merge our explicit pipelines; we batch deliberately.
    enableAutoPipelining: false,
    lazyConnect: false,
  };
  if (opts.blocking) options.commandTimeout = undefined;
  return options;
}

/** user, password and TLS of a redis:// / rediss:// URL (for the nodes of a Cluster). */
export function credentialsOf(url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const u = new URL(url);
  const out: Pick<RedisOptions, 'username' | 'password' | 'tls'> = {};
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') out.tls = {};
  return out;
}

/** Seeds `host:port` as ioredis wants them. */
export function clusterSeeds(nodes: readonly string[]): Array<{ host: string; port: number }> {
  return nodes.map((n) => {
    const i = n.lastIndexOf(':');
    return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
  });
}

/** ioredis Cluster options: MOVED/ASK/TRYAGAIN and failovers handled by retrying, never giving up. */
export function clusterOptions(
  url: string,
  redisOptions: RedisOptions,
  retry: ClusterOptions['clusterRetryStrategy'],
): ClusterOptions {
  const { retryStrategy: _r, enableOfflineQueue, lazyConnect, ...nodeOptions } = redisOptions;
  return {
    redisOptions: { ...nodeOptions, ...credentialsOf(url) },
    lazyConnect: lazyConnect ?? false,
    enableOfflineQueue: enableOfflineQueue ?? true,
    clusterRetryStrategy: retry,
    // During a failover the slot's primary is gone until its replica is promoted (about the
    // cluster's node timeout): commands wait and retry instead of failing the batch.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 100,
    maxRedirections: 32,
    // Refresh the slot map now and then so a reshard or failover is learnt even by a quiet client.
    slotsRefreshInterval: 5_000,
    enableAutoPipelining: false,
  };
}

export function createRedis(target: string | RedisTarget, opts: RedisClientOptions): Redis {
  const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
  const options = serverOptions(opts);
  let client: Redis;
  if (t.clusterNodes?.length) {
    const retry = options.retryStrategy!;
    client = new Cluster(
      clusterSeeds(t.clusterNodes),
      clusterOptions(t.url, options, (times) => retry(times)),
    ) as unknown as Redis;
  } else {
    client = new IORedis(t.url, options);
  }
  // Errors are reported by the reconnect loop and by each command; an 'error' listener
  // prevents ioredis from printing unhandled-error noise (which could include the URL).
  client.on('error', () => {});
  return registerScripts(client);
}

/** True when the client talks to a Redis Cluster. */
export function isCluster(client: Redis): boolean {
  return client.isCluster;
}

/** Parses 'ms-seq' stream ids. */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}
