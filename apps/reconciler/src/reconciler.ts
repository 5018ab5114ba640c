/**
 * reconciler service: every RECONCILE_INTERVAL_MS exactly one replica runs a reconciliation
 * (a BullMQ job scheduler: each tick is one job, taken by one worker), exports the variance,
 * and appends a summary to the audit stream.
 *
 * Every replica also serves the variance it last saw; the one that ran the tick has the
 * freshest. Prometheus alerts use max() over replicas.
 */
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import {
  Keys,
  createRedis,
  redisTarget,
  type Logger,
  type Redis,
  type Registry,
  type Service,
} from '@holdfast/shared';
import { createMysqlPool, migrate, type Pool } from '@holdfast/shared/mysql';
import type { ReconcilerConfig } from './config.js';
import { publishVariance, reconcilerMetrics, type ReconcilerMetrics } from './metrics.js';
import { reconcileAll, type ReconcileReport } from './reconcile.js';

const QUEUE = 'reconcile';
const SCHEDULER_ID = 'reconcile-tick';

/** BullMQ wants connection options (it makes its own clients, with its own ioredis). */
export function bullConnection(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: decodeURIComponent(u.username) || undefined,
    password: decodeURIComponent(u.password) || undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

export class Reconciler implements Service {
  private readonly redis: Redis;
  private readonly pool: Pool;
  private readonly keys: Keys;
  private readonly m: ReconcilerMetrics;
  private queue: Queue | undefined;
  private worker: Worker | undefined;
  private bullClient: Redis | undefined;
  lastReports: ReconcileReport[] = [];

  constructor(
    private readonly cfg: ReconcilerConfig,
    private readonly log: Logger,
    registry: Registry,
  ) {
    // Every shard, whatever HOLDFAST_SERVE_SHARDS says: the one run per tick (across every
    // replica of every deployment) proves the whole fleet's books.
    this.keys = new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARDS);
    this.redis = createRedis(redisTarget(cfg), { name: 'holdfast-reconciler' });
    this.pool = createMysqlPool(cfg.MYSQL_URL, { connectionLimit: cfg.MYSQL_POOL_SIZE });
    this.m = reconcilerMetrics(registry);
  }

  /** One run: reconcile every shard, export, audit. */
  async runOnce(tick?: string): Promise<ReconcileReport[]> {
    const end = this.m.duration.startTimer();
    try {
      const reports = await reconcileAll(this.redis, this.pool, this.keys);
      end();
      publishVariance(this.m, reports, this.cfg.RECONCILE_MAX_SKU_SERIES);
      const total = reports.reduce((n, r) => n + r.totalAbsVariance, 0);
      this.m.runs.inc({ result: total === 0 ? 'ok' : 'variance' });
      this.m.lastSuccess.set(Date.now() / 1000);
      this.lastReports = reports;
      await this.redis.xadd(
        this.keys.streams.audit,
        'MAXLEN',
        '~',
        this.cfg.AUDIT_MAXLEN,
        '*',
        'tick',
        tick ?? 'manual',
        'at',
        String(Date.now()),
        'skus',
        String(reports.reduce((n, r) => n + r.skus, 0)),
        'skus_with_variance',
        String(reports.reduce((n, r) => n + r.variances.length, 0)),
        'variance_total',
        String(total),
        'in_flight',
        String(reports.reduce((n, r) => n + r.inFlightEntries, 0)),
        'duration_ms',
        String(reports.reduce((n, r) => n + r.durationMs, 0)),
        'worker',
        String(process.pid),
      );
      const log = total === 0 ? this.log.info.bind(this.log) : this.log.warn.bind(this.log);
      log(
        {
          tick,
          varianceTotal: total,
          skus: reports.reduce((n, r) => n + r.skus, 0),
          variances: reports
            .flatMap((r) => r.variances)
            .slice(0, 10)
            .map((v) => ({ sku: v.sku, variance: v.variance, diff: v.diff })),
        },
        'reconciled',
      );
      return reports;
    } catch (err) {
      end();
      this.m.runs.inc({ result: 'error' });
      this.log.error({ err }, 'reconciliation failed');
      throw err;
    }
  }

  async start(): Promise<void> {
    await migrate(this.cfg.MYSQL_URL, this.log);
    // On Redis Cluster BullMQ takes a Cluster client (its keys share one hash tag, see
    // Keys.bullPrefix); on one Redis, connection options as before.
    const connection: ConnectionOptions = this.cfg.REDIS_CLUSTER_NODES
      ? (this.bullClient = createRedis(redisTarget(this.cfg), {
          name: 'holdfast-reconciler-bull',
          blocking: true,
        }))
      : bullConnection(this.cfg.REDIS_URL);
    this.queue = new Queue(QUEUE, { connection, prefix: this.keys.bullPrefix });
    // Without a listener, BullMQ prints its connection errors raw to stderr (Redis down).
    this.queue.on('error', (err) => this.log.warn({ err }, 'scheduler queue error'));
    // Idempotent: every replica upserts the same scheduler; BullMQ makes one job per tick.
    await this.queue.upsertJobScheduler(
      SCHEDULER_ID,
      { every: this.cfg.RECONCILE_INTERVAL_MS },
      { name: 'reconcile', opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
    this.worker = new Worker(
      QUEUE,
      async (job: Job) => {
        const reports = await this.runOnce(String(job.id));
        return { varianceTotal: reports.reduce((n, r) => n + r.totalAbsVariance, 0) };
      },
      { connection, prefix: this.keys.bullPrefix, concurrency: 1 },
    );
    this.worker.on('error', (err) => this.log.warn({ err }, 'scheduler worker error'));
  }

  async stop(): Promise<void> {
    // Worker.close() waits for a run in progress to finish.
    await Promise.allSettled([this.worker?.close(), this.queue?.close()]);
    await Promise.allSettled([this.redis.quit(), this.pool.end(), this.bullClient?.quit()]);
  }

  health(): string | null {
    if (this.redis.status !== 'ready') return `redis ${this.redis.status}`;
    return this.worker?.isRunning() ? null : 'scheduler not running';
  }
}
