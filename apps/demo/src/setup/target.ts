/**
 * Where the demo runs.
 *
 * By default a demo never touches anything but its own names: a fresh Redis namespace
 * `demo-<timestamp>:` and the MySQL database `holdfast_demo`, dropped and recreated. When
 * HOLDFAST_NAMESPACE / MYSQL_URL are set (tests, another server), they are honoured, but the
 * demo refuses a namespace or database that already holds data rather than mixing with it
 * (this file: the namespace; ./database.ts: the database).
 */
import { ConfigError, Keys, type Redis } from '@holdfast/shared';
import { CliError, EXIT, loadConfig } from '@holdfast/shared/tools';

export const DEMO_DATABASE = 'holdfast_demo';
const DEFAULT_MYSQL_SERVER = 'mysql://root@127.0.0.1:3306/';

export interface DemoTarget {
  redisUrl: string;
  mysqlUrl: string;
  namespace: string;
  shard: string;
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
    mysqlUrl: cfg.MYSQL_URL,
    namespace: cfg.HOLDFAST_NAMESPACE,
    shard: cfg.HOLDFAST_SHARDS[0]!,
    keys: new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARDS),
    ownNamespace: !givenNs,
    recreateDatabase: database === DEMO_DATABASE,
    database,
  };
}

/** Refuses a namespace that already has streams or SKUs (the checks would mix two runs). */
export async function checkNamespaceEmpty(redis: Redis, t: DemoTarget): Promise<void> {
  const s = t.keys.streams;
  const sk = t.keys.shard();
  const n = await redis.exists(s.events, sk.outcomes, s.admin, sk.skus, sk.ledger, sk.inbound);
  if (n > 0) {
    throw new CliError(
      `Redis namespace "${t.namespace}" is already in use (streams or SKUs exist); the demo needs ` +
        'an empty one: unset HOLDFAST_NAMESPACE for a fresh demo-<timestamp>: namespace',
      EXIT.usage,
    );
  }
}
