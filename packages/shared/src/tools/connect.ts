/**
 * Connections for one CLI invocation. Unlike the services (which retry forever), the CLI fails
 * fast with one clear line when a server is unreachable, and never prints a password.
 */
import { Cluster, Redis as IORedis, type RedisOptions } from 'ioredis';
import {
  Keys,
  clusterOptions,
  clusterSeeds,
  redactUrl,
  registerScripts,
  type Redis,
  type RedisTarget,
} from '../index.js';
import { createMysqlPool, type Pool } from '../mysql/index.js';
import { loadConfig, type CliConfig } from './config.js';
import { CliError, errorMessage } from './errors.js';

export async function connectRedis(target: string | RedisTarget): Promise<Redis> {
  const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
  const url = t.url;
  const options: RedisOptions = {
    connectionName: 'holdfast-cli',
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
    enableAutoPipelining: false,
  };
  const client: Redis = t.clusterNodes?.length
    ? (new Cluster(
        clusterSeeds(t.clusterNodes),
        clusterOptions(url, options, (times) => (times > 3 ? null : 200 * times)),
      ) as unknown as Redis)
    : new IORedis(url, options);
  const where = t.clusterNodes?.length
    ? `the Redis Cluster at ${t.clusterNodes.join(',')}`
    : `Redis at ${redactUrl(url)}`;
  // Errors surface through connect() and each command; this keeps ioredis from printing
  // unhandled-error noise (which could include the URL).
  let lastError: unknown;
  client.on('error', (err) => (lastError = err));
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    // connect() rejects with "Connection is closed."; the socket error says why.
    throw new CliError(`cannot connect to ${where}: ${errorMessage(lastError ?? err)}`);
  }
  return registerScripts(client);
}

export function mysqlPool(url: string): Pool {
  return createMysqlPool(url, {
    connectionLimit: 2,
    connectTimeoutMs: 5_000,
    applicationName: 'holdfast-cli',
  });
}

/** Config, names, and lazily opened connections, closed by close(). */
export class Context {
  readonly keys: Keys;
  private redisP: Promise<Redis> | undefined;
  private poolV: Pool | undefined;

  constructor(readonly config: CliConfig) {
    this.keys = new Keys(config.HOLDFAST_NAMESPACE, config.HOLDFAST_SHARDS);
  }

  static fromEnv(): Context {
    return new Context(loadConfig());
  }

  redis(): Promise<Redis> {
    this.redisP ??= connectRedis({
      url: this.config.REDIS_URL,
      clusterNodes: this.config.REDIS_CLUSTER_NODES,
    });
    return this.redisP;
  }

  pool(): Pool {
    this.poolV ??= mysqlPool(this.config.MYSQL_URL);
    return this.poolV;
  }

  /** Describes a MySQL failure without the password. */
  mysqlProblem(err: unknown): string {
    return `MySQL at ${redactUrl(this.config.MYSQL_URL)}: ${errorMessage(err)}`;
  }

  async close(): Promise<void> {
    const r = this.redisP;
    this.redisP = undefined;
    if (r) {
      await r.then(
        (c) => c.quit().catch(() => c.disconnect()),
        () => {},
      );
    }
    const p = this.poolV;
    this.poolV = undefined;
    if (p) await p.end().catch(() => {});
  }
}

/** Runs `fn` with a fresh context and always closes its connections. */
export async function withContext<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = Context.fromEnv();
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}
