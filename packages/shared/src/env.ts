/**
 * Environment parsing. Each service declares one zod schema for its environment and parses it
 * once at start; a bad or missing value fails fast with a message that names the variable.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `source` (default process.env) with `schema`; throws ConfigError naming each bad variable. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined> = process.env,
): Readonly<z.infer<S>> {
  const res = schema.safeParse(source);
  if (!res.success) {
    const lines = res.error.issues.map((i) => {
      const name = i.path.join('.') || '(environment)';
      const raw = source[name];
      const shown = raw === undefined ? 'unset' : /URL/.test(name) ? 'set' : JSON.stringify(raw);
      return `  ${name} (${shown}): ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(res.data);
}

/** An integer environment variable with bounds and a default. */
export const int = (def: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(String(def) as never)
    .transform((v) => Number(v));

export const redisUrl = z
  .string()
  .default('redis://127.0.0.1:6379')
  .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL');

export const mysqlUrl = z
  .string()
  .default('mysql://root@127.0.0.1:3306/holdfast')
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'mysql:' && u.pathname.length > 1;
    } catch {
      return false;
    }
  }, 'must be a mysql:// URL with a database name, e.g. mysql://user:pass@host:3306/holdfast');

const SHARD_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** A comma-separated list of distinct shard names (contract: 1–32 chars of [A-Za-z0-9_-]). */
export const shardList = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()))
  .refine(
    (l) => l.every((s) => SHARD_NAME.test(s)),
    'comma-separated shard names, each 1–32 of A-Z a-z 0-9 _ -',
  )
  .refine((l) => new Set(l).size === l.length, 'shard names must be distinct')
  .refine((l) => l.length <= 1024, 'at most 1024 shards');

/** Redis Cluster seed nodes, `host:port,host:port`; unset = a single Redis at REDIS_URL. */
export const clusterNodes = z
  .string()
  .optional()
  .transform((v) =>
    v === undefined || v.trim() === '' ? undefined : v.split(',').map((s) => s.trim()),
  )
  .refine(
    (l) =>
      l === undefined ||
      l.every((n) => /^[^\s:/]+:\d{1,5}$/.test(n) && Number(n.split(':').pop()) <= 65_535),
    'comma-separated host:port seeds, e.g. 10.0.0.1:7000,10.0.0.2:7000',
  );

/** The shards a replica serves: HOLDFAST_SERVE_SHARDS if set (each must be configured), else all. */
export function servedShards(cfg: {
  HOLDFAST_SHARDS: string[];
  HOLDFAST_SERVE_SHARDS?: string[] | undefined;
}): string[] {
  const serve = cfg.HOLDFAST_SERVE_SHARDS;
  if (!serve?.length) return cfg.HOLDFAST_SHARDS;
  const unknown = serve.filter((s) => !cfg.HOLDFAST_SHARDS.includes(s));
  if (unknown.length) {
    throw new ConfigError(
      `invalid configuration:\n  HOLDFAST_SERVE_SHARDS: ${unknown.join(', ')} not in HOLDFAST_SHARDS`,
    );
  }
  return serve;
}

/** Where a service's Redis is: one server (url) or a Redis Cluster (seeds; credentials from url). */
export interface RedisTarget {
  url: string;
  clusterNodes?: string[] | undefined;
}

export function redisTarget(cfg: {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string[] | undefined;
}): RedisTarget {
  return { url: cfg.REDIS_URL, clusterNodes: cfg.REDIS_CLUSTER_NODES };
}

/** A namespace prefixed to every Redis name; empty in production, random in tests. */
export const namespace = z
  .string()
  .default('')
  .refine((v) => /^[A-Za-z0-9_:.-]{0,64}$/.test(v), 'letters, digits, _ : . - only (max 64)');

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

/** Settings every service shares. */
export const commonEnv = {
  REDIS_URL: redisUrl,
  HOLDFAST_NAMESPACE: namespace,
  /** Every shard of the deployment, in order (the placement function indexes this list). */
  HOLDFAST_SHARDS: shardList.default(['main']),
  /**
   * The shards this replica serves (a subset of HOLDFAST_SHARDS; empty = all), so an SRE can run
   * one deployment per shard. Checked against HOLDFAST_SHARDS by servedShards().
   */
  HOLDFAST_SERVE_SHARDS: shardList.optional(),
  REDIS_CLUSTER_NODES: clusterNodes,
  LOG_LEVEL: logLevel,
  CONSUMER_NAME: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/)
    .optional(),
  SHUTDOWN_TIMEOUT_MS: int(15_000, 100, 300_000),
  /** How long an event_id is remembered: the window in which a duplicate has no effect. */
  DEDUPE_TTL_SECONDS: int(7 * 86_400, 60, 90 * 86_400),
};

/** Settings of every stream consumer. */
export const workerEnv = {
  BATCH_SIZE: int(500, 1, 10_000),
  BLOCK_MS: int(1_000, 10, 60_000),
  /** An entry pending this long on a silent consumer is taken over by another replica. */
  CLAIM_IDLE_MS: int(30_000, 100, 3_600_000),
  /** Deliveries after which an entry is dead-lettered instead of retried again. */
  MAX_DELIVERIES: int(5, 1, 1_000),
  HOUSEKEEPING_MS: int(5_000, 100, 600_000),
  /** Consumers idle this long that hold nothing are removed from the group. */
  CONSUMER_IDLE_MS: int(3_600_000, 1_000, 30 * 86_400_000),
  DLQ_MAX_VALUE_BYTES: int(65_536, 64, 16 * 1024 * 1024),
};

/**
 * Reply streams (contract v2 `reply_to`), written by the reserver (decisions) and ingest (a
 * retry's answer): `checkout:replies:{<shard>}:<reply_to>`, capped at about REPLY_MAXLEN entries
 * and deleted once nothing was appended for REPLY_TTL_SECONDS.
 */
export const replyEnv = {
  REPLY_MAXLEN: int(1_000, 10, 1_000_000),
  REPLY_TTL_SECONDS: int(600, 1, 7 * 86_400),
};

/** METRICS_PORT with a per-service default; 0 picks a free port. */
export const metricsPort = (def: number) => ({ METRICS_PORT: int(def, 0, 65_535) });

// ---- Durability: Redis WAIT (docs/cluster.md, "The failover window") -------------------------

/**
 * REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT_MS of the services that can WAIT for Redis replicas
 * (reserver, ledger-writer). Each service passes its own default timeout: a reserver that
 * waits long holds buyers' answers, a ledger-writer only holds MySQL back.
 */
export const durabilityEnv = (defaultTimeoutMs: number) => ({
  /**
   * Replicas that must have a batch's writes before the service goes on (Redis WAIT on the
   * shard's node). 0 = never wait: replication stays asynchronous, as Redis makes it.
   */
  REDIS_WAIT_REPLICAS: int(0, 0, 16),
  /** How long one WAIT may block before the service decides what to do without the replicas. */
  REDIS_WAIT_TIMEOUT_MS: int(defaultTimeoutMs, 1, 60_000),
});
