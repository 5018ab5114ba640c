/**
 * Where the demo runs.
 *
 * By default a demo never touches anything but its own names: a fresh Redis namespace
 * `demo-<timestamp>:` and the MySQL database `holdfast_demo`, dropped and recreated. When
 * HOLDFAST_NAMESPACE / MYSQL_URL are set (tests, another server), they are honoured, but the
 * demo refuses a namespace or database that already holds data rather than mixing with it
 * (this file: the namespace; ./database.ts: the database).
 */
import { ConfigError, Keys, type Redis, type RedisTarget } from '@holdfast/shared';
import { CliError, EXIT, loadConfig } from '@holdfast/shared/tools';

export const DEMO_DATABASE = 'holdfast_demo';
const DEFAULT_MYSQL_SERVER = 'mysql://root@127.0.0.1:3306/';

export interface DemoTarget {
  redisUrl: string;
  /** Seeds of the Redis Cluster (REDIS_CLUSTER_NODES, or the demo's own with --cluster). */
  clusterNodes: string[] | undefined;
  mysqlUrl: string;
  namespace: string;
  /** Every shard of the deployment (HOLDFAST_SHARDS), in order. */
  shards: string[];
  keys: Keys;
  /** The namespace is the demo's own (deleted at the end unless --keep). */
  ownNamespace: boolean;
  /** The database is the demo's own (`holdfast_demo`, dropped and recreated). */
  recreateDatabase: boolean;
  database: string;
}

/** `demo-20250101-120000` style stamp (local time), also the report directory's name. */
export function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/**
 * The run's Redis namespace, database and servers from the environment, validated like the
 * services do: a bad value is a usage error (exit 2) naming the variable.
 */
export function resolveTarget(
  stamp: string,
  env: Record<string, string | undefined> = process.env,
): DemoTarget {
  const givenNs = env.HOLDFAST_NAMESPACE ? env.HOLDFAST_NAMESPACE : undefined;
  const givenMysql = env.MYSQL_URL ? env.MYSQL_URL : undefined;
  const namespace = givenNs ?? `demo-${stamp}:`;
  let cfg: ReturnType<typeof loadConfig>;
  try {
    cfg = loadConfig({
      ...env,
      HOLDFAST_NAMESPACE: namespace,
      MYSQL_URL: givenMysql ?? `${DEFAULT_MYSQL_SERVER}${DEMO_DATABASE}`,
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new CliError(e.message.replace(/:\n\s*/, ': ').replace(/\n\s*/g, '; '), EXIT.usage);
  }
  const database = decodeURIComponent(new URL(cfg.MYSQL_URL).pathname.slice(1));
  return {
    redisUrl: cfg.REDIS_URL,
    clusterNodes: cfg.REDIS_CLUSTER_NODES,
    mysqlUrl: cfg.MYSQL_URL,
    namespace: cfg.HOLDFAST_NAMESPACE,
    shards: [...cfg.HOLDFAST_SHARDS],
    keys: new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARDS),
    ownNamespace: !givenNs,
    recreateDatabase: database === DEMO_DATABASE,
    database,
  };
}

/** Where the demo's clients connect: one Redis, or a Redis Cluster through its seeds. */
export function redisTargetOf(t: DemoTarget): RedisTarget {
  return { url: t.redisUrl, clusterNodes: t.clusterNodes };
}

/** Refuses a namespace that already has streams or SKUs (the checks would mix two runs). */
export async function checkNamespaceEmpty(redis: Redis, t: DemoTarget): Promise<void> {
  const s = t.keys.streams;
  const names = [s.events, s.admin];
  for (const shard of t.shards) {
    const sk = t.keys.shard(shard);
    names.push(sk.outcomes, sk.skus, sk.ledger, sk.inbound);
  }
  // One key per EXISTS: on a Redis Cluster the names live in different slots.
  const found = await Promise.all(names.map((k) => redis.exists(k)));
  if (found.some((n) => n > 0)) {
    throw new CliError(
      `Redis namespace "${t.namespace}" is already in use (streams or SKUs exist); the demo needs ` +
        'an empty one: unset HOLDFAST_NAMESPACE for a fresh demo-<timestamp>: namespace',
      EXIT.usage,
    );
  }
}
