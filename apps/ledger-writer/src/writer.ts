/**
 * ledger-writer: consumes the reserver's ledger stream and writes every state change to MySQL
 * in paced, batched transactions (apply-batch.ts). Entries are acked only after COMMIT; a
 * redelivered entry finds its rows by change_id and is skipped, so a crash at any point can
 * neither lose nor double a change.
 *
 * While MySQL is slow or down the batch in hand is retried with backoff and jitter
 * (retry-policy.ts); the rest of the backlog waits in the stream (memory stays one batch), and
 * the entries in hand are "touched" so other replicas don't take them over as if this one had
 * died.
 */
import {
  GROUPS,
  Keys,
  ReplicaWait,
  StreamWorker,
  createRedis,
  durabilityMetrics,
  durabilitySettings,
  fault,
  redisTarget,
  servedShards,
  uniqueConsumerName,
  workerSettings,
  workerMetrics,
  type EntryResult,
  type Logger,
  type Redis,
  type Registry,
  type Service,
  type StreamEntry,
} from '@holdfast/shared';
import { createMysqlPool, isRetryableMysqlError, migrate, type Pool } from '@holdfast/shared/mysql';
import { applyLedgerBatch } from './apply-batch.js';
import { replicatedEntries } from './durability.js';
import type { LedgerWriterConfig } from './config.js';
import { parseLedgerEntry, type LedgerEntry } from './ledger-entry.js';
import { ledgerMetrics, type LedgerMetrics } from './metrics.js';
import { Pacer } from './pacer.js';
import type { LedgerIncident } from './plan-batch.js';
import { RetryStopped, retry, type RetryPolicy } from './retry-policy.js';

/**
 * A change MySQL refused for now, waiting for a change it depends on that another writer is
 * about to commit: 100, 300, 900 ms, then it is left pending. No jitter: this waits for time to
 * pass, not for a competitor to get out of the way.
 */
const REFUSED_RETRY: RetryPolicy = {
  attempts: 4,
  baseMs: 100,
  factor: 3,
  capMs: 900,
  jitter: 'none',
};

/** See ledger-store.ts, SHAPES. */
const PREPARED_STATEMENTS_PER_CONNECTION = 128;

/** Thrown inside settleRefused()'s retry loop while some change is still refused. */
class StillRefused extends Error {}

/** One shard's ledger stream and the worker that drains it (each with its own blocking client). */
interface ShardLane {
  shard: string;
  worker: StreamWorker;
  blocking: Redis;
  /** REDIS_WAIT_REPLICAS, on the lane's reading client (idle while its batch is written). */
  replicas: ReplicaWait;
}

export class LedgerWriter implements Service {
  private readonly redis: Redis;
  private readonly pool: Pool;
  /** Every served shard's ledger drains into the one MySQL (change ids are unique across shards). */
  private readonly lanes: ShardLane[];
  private readonly keys: Keys;
  private readonly pacer: Pacer;
  private readonly lm: LedgerMetrics;
  /**
   * A batch while MySQL is down or failing: until it works or the service stops, 50 ms, 100 ms,
   * … up to RETRY_MAX_MS, jittered so that replicas don't hit a recovering server in step.
   */
  private readonly batchRetry: RetryPolicy;
  private mysqlHealthy = true;

  constructor(
    private readonly cfg: LedgerWriterConfig,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.keys = new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARDS);
    const target = redisTarget(cfg);
    this.redis = createRedis(target, { name: 'holdfast-ledger-writer' });
    this.pool = createMysqlPool(cfg.MYSQL_URL, {
      connectionLimit: cfg.MYSQL_POOL_SIZE,
      // ledger-store.ts prepares its hot statements in a bounded set of shapes (about 50 in
      // practice); the cap keeps server and client memory bounded whatever batches arrive.
      maxPreparedStatements: PREPARED_STATEMENTS_PER_CONNECTION,
    });
    this.pacer = new Pacer(cfg.LEDGER_MAX_ROWS_PER_SECOND);
    this.lm = ledgerMetrics(registry);
    this.batchRetry = { attempts: Infinity, baseMs: 50, capMs: cfg.RETRY_MAX_MS, jitter: 'full' };
    const wm = workerMetrics(registry);
    const consumer = uniqueConsumerName('ledger-writer', cfg.CONSUMER_NAME);
    const dm = durabilityMetrics(registry);
    this.lanes = servedShards(cfg).map((shard) => {
      const blocking = createRedis(target, {
        name: `holdfast-ledger-writer-read-${shard}`,
        blocking: true,
      });
      const replicas = new ReplicaWait({
        client: blocking,
        shard,
        fence: { stream: this.keys.shard(shard).ledger, group: GROUPS.ledgerWriter, consumer },
        settings: durabilitySettings(cfg),
        metrics: dm,
      });
      const lane: ShardLane = {
        shard,
        blocking,
        replicas,
        worker: undefined as unknown as StreamWorker,
      };
      lane.worker = new StreamWorker({
        redis: this.redis,
        blocking,
        stream: this.keys.shard(shard).ledger,
        group: GROUPS.ledgerWriter,
        consumer,
        deadStream: this.keys.streams.dead,
        ...workerSettings(cfg),
        log: log.child({ shard }),
        metrics: wm,
        handle: (entries, l) => this.handle(entries, l, lane),
      });
      return lane;
    });
  }

  /** One batch of a shard's ledger (by default the first served shard's). */
  async handle(
    entries: StreamEntry[],
    log: Logger,
    lane: ShardLane = this.lanes[0]!,
  ): Promise<EntryResult[]> {
    const results: EntryResult[] = new Array(entries.length);
    const valid: Array<{ index: number; entry: LedgerEntry }> = [];
    const deliveries = new Map(entries.map((e) => [e.id, e.deliveries]));
    entries.forEach((e, index) => {
      const p = parseLedgerEntry(e.id, e.fields);
      if ('error' in p)
        results[index] = { kind: 'dead', reason: 'bad_ledger_entry', detail: p.error };
      else valid.push({ index, entry: p });
    });
    // MySQL only gets what the shard's replicas have (REDIS_WAIT_REPLICAS; ./durability.ts).
    const ready = await replicatedEntries(
      lane.replicas,
      valid.map((v) => v.entry.streamId),
      log,
      () => lane.worker.stopRequested,
    );
    const go = valid.filter((v) => ready?.has(v.entry.streamId));
    for (const v of valid) if (!ready?.has(v.entry.streamId)) results[v.index] = { kind: 'retry' };
    if (go.length) {
      const out = await this.applyWithRetry(
        lane,
        go.map((v) => v.entry),
        log,
        deliveries,
      );
      go.forEach((v, i) => (results[v.index] = out[i]!));
    }
    return results;
  }

  /** Applies a batch, retrying transient failures; isolates an entry MySQL refuses for good. */
  private async applyWithRetry(
    lane: ShardLane,
    entries: LedgerEntry[],
    log: Logger,
    deliveries: Map<string, number>,
  ): Promise<EntryResult[]> {
    try {
      return await retry(this.batchRetry, () => this.applyOnce(lane, entries, log, deliveries), {
        retryable: isRetryableMysqlError,
        stopped: () => lane.worker.stopRequested,
        onRetry: async ({ reason, attempt, delayMs, error }) => {
          this.lm.retries.inc({ reason });
          if (reason === 'connection') this.mysqlHealthy = false;
          log.warn(
            // attempt counts from 0 here, as this line always has.
            {
              reason,
              attempt: attempt - 1,
              wait: Math.round(delayMs),
              err: (error as Error).message,
            },
            'ledger batch retry',
          );
          await lane.worker.touch(entries.map((e) => e.streamId)).catch(() => {});
        },
      });
    } catch (err) {
      // Stopping: give the batch back; it stays pending for whoever runs next.
      if (err instanceof RetryStopped) return entries.map(() => ({ kind: 'retry' }) as const);
      // Attempts are unlimited, so what ends up here is an error MySQL will give again.
      if (entries.length === 1) {
        log.error({ err, changeId: entries[0]!.changeId }, 'ledger entry refused by MySQL');
        return [{ kind: 'dead', reason: 'ledger_write_failed', detail: (err as Error).message }];
      }
      // Split to find the entry MySQL refuses; the others still go through.
      const mid = Math.ceil(entries.length / 2);
      return [
        ...(await this.applyWithRetry(lane, entries.slice(0, mid), log, deliveries)),
        ...(await this.applyWithRetry(lane, entries.slice(mid), log, deliveries)),
      ];
    }
  }

  /** One paced attempt at the batch, then what becomes of the changes MySQL refused. */
  private async applyOnce(
    lane: ShardLane,
    entries: LedgerEntry[],
    log: Logger,
    deliveries: Map<string, number>,
  ): Promise<EntryResult[]> {
    await this.pacer.take(entries.reduce((n, e) => n + e.lines.length, 0));
    const end = this.lm.writeLatency.startTimer();
    const res = await applyLedgerBatch(this.pool, lane.shard, entries, {
      onRetry: (label) => this.lm.retries.inc({ reason: label }),
      beforeCommit: () => fault('ledger.before_commit'),
    });
    end();
    fault('ledger.after_commit');
    this.mysqlHealthy = true;
    this.lm.batchSize.observe(entries.length);
    this.lm.rowsWritten.inc(res.rowsWritten);
    const refused = new Map(res.incidents.map((i) => [i.changeId, i]));
    if (!refused.size) return entries.map(() => ({ kind: 'ack' }) as const);
    return await this.settleRefused(lane, entries, refused, log, deliveries);
  }

  /**
   * Changes MySQL refused. With several writers a change can reach MySQL before the one it
   * follows (a confirm before its reserve, committed by another writer a moment later), so a
   * refused change is first re-tried here a few times within about a second, then left pending
   * for redelivery, and only after LEDGER_INCIDENT_DELIVERIES deliveries dead-lettered as an
   * incident.
   */
  private async settleRefused(
    lane: ShardLane,
    entries: LedgerEntry[],
    refused: Map<string, LedgerIncident>,
    log: Logger,
    deliveries: Map<string, number>,
  ): Promise<EntryResult[]> {
    let still = refused;
    try {
      // Attempt 1 is the application that just refused them; later ones apply what is still
      // refused again.
      await retry(
        REFUSED_RETRY,
        async (attempt) => {
          if (attempt > 1) {
            const again = entries.filter((e) => still.has(e.changeId));
            const res = await applyLedgerBatch(this.pool, lane.shard, again, {
              onRetry: (label) => this.lm.retries.inc({ reason: label }),
            });
            this.lm.rowsWritten.inc(res.rowsWritten);
            still = new Map(res.incidents.map((i) => [i.changeId, i]));
          }
          if (still.size) throw new StillRefused();
        },
        {
          retryable: (err) => err instanceof StillRefused && 'refused',
          stopped: () => lane.worker.stopRequested,
        },
      );
    } catch (err) {
      // Out of quick retries (or stopping): the changes still refused are decided below. Any
      // other error is the batch's: applyWithRetry() handles it.
      if (!(err instanceof StillRefused || err instanceof RetryStopped)) throw err;
    }
    return entries.map((e) => {
      const inc = still.get(e.changeId);
      return inc
        ? this.decideRefused(e, inc, log, deliveries.get(e.streamId) ?? 1)
        : { kind: 'ack' };
    });
  }

  /** Pending for another delivery, or — the last one LEDGER_INCIDENT_DELIVERIES allows — dead. */
  private decideRefused(
    e: LedgerEntry,
    inc: LedgerIncident,
    log: Logger,
    deliveries: number,
  ): EntryResult {
    if (deliveries < this.cfg.LEDGER_INCIDENT_DELIVERIES) {
      log.warn(
        { changeId: e.changeId, entryId: e.streamId, reason: inc.reason },
        'ledger change refused for now; will retry',
      );
      return { kind: 'retry' };
    }
    this.lm.incidents.inc({ reason: inc.reason });
    log.error(
      { changeId: e.changeId, entryId: e.streamId, incident: inc },
      'ledger incident: change refused',
    );
    return { kind: 'dead', reason: 'ledger_incident', detail: `${inc.reason}: ${inc.detail}` };
  }

  async start(): Promise<void> {
    await migrate(this.cfg.MYSQL_URL, this.log);
    for (const lane of this.lanes) await lane.worker.start();
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.lanes.map((l) => l.worker.stop()));
    await Promise.allSettled([
      this.redis.quit(),
      this.pool.end(),
      ...this.lanes.map((l) => l.blocking.quit()),
    ]);
  }

  health(): string | null {
    if (this.redis.status !== 'ready') return `redis ${this.redis.status}`;
    if (!this.mysqlHealthy) return 'mysql unreachable (retrying)';
    const stopped = this.lanes.filter((l) => !l.worker.running).map((l) => l.shard);
    return stopped.length ? `worker stopped (shard ${stopped.join(', ')})` : null;
  }
}
