/**
 * ledger-writer: consumes the reserver's ledger stream and writes every state change to MySQL
 * in paced, batched transactions (apply-batch.ts). Entries are acked only after COMMIT; a
 * redelivered entry finds its rows by change_id and is skipped, so a crash at any point can
 * neither lose nor double a change.
 *
 * While MySQL is slow or down the batch in hand is retried with backoff and jitter; the rest
 * of the backlog waits in the stream (memory stays one batch), and the entries in hand are
 * "touched" so other replicas don't take them over as if this one had died.
 */
import {
  GROUPS,
  Keys,
  StreamWorker,
  createRedis,
  fault,
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
import {
  applyLedgerBatch,
  parseLedgerEntry,
  type LedgerEntry,
  type LedgerIncident,
} from './apply-batch.js';
import type { LedgerWriterConfig } from './config.js';
import { ledgerMetrics, type LedgerMetrics } from './metrics.js';
import { Pacer, backoffMs } from './pacer.js';

export class LedgerWriter implements Service {
  private readonly redis: Redis;
  private readonly blocking: Redis;
  private readonly pool: Pool;
  private readonly worker: StreamWorker;
  private readonly keys: Keys;
  private readonly pacer: Pacer;
  private readonly lm: LedgerMetrics;
  private mysqlHealthy = true;

  constructor(
    private readonly cfg: LedgerWriterConfig,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.keys = new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARD);
    this.redis = createRedis(cfg.REDIS_URL, { name: 'holdfast-ledger-writer' });
    this.blocking = createRedis(cfg.REDIS_URL, {
      name: 'holdfast-ledger-writer-read',
      blocking: true,
    });
    this.pool = createMysqlPool(cfg.MYSQL_URL, { connectionLimit: cfg.MYSQL_POOL_SIZE });
    this.pacer = new Pacer(cfg.LEDGER_MAX_ROWS_PER_SECOND);
    this.lm = ledgerMetrics(registry);
    this.worker = new StreamWorker({
      redis: this.redis,
      blocking: this.blocking,
      stream: this.keys.shard().ledger,
      group: GROUPS.ledgerWriter,
      consumer: uniqueConsumerName('ledger-writer', cfg.CONSUMER_NAME),
      deadStream: this.keys.streams.dead,
      ...workerSettings(cfg),
      log,
      metrics: workerMetrics(registry),
      handle: (entries, l) => this.handle(entries, l),
    });
  }

  async handle(entries: StreamEntry[], log: Logger): Promise<EntryResult[]> {
    const results: EntryResult[] = new Array(entries.length);
    const valid: Array<{ index: number; entry: LedgerEntry }> = [];
    const deliveries = new Map(entries.map((e) => [e.id, e.deliveries]));
    entries.forEach((e, index) => {
      const p = parseLedgerEntry(e.id, e.fields);
      if ('error' in p)
        results[index] = { kind: 'dead', reason: 'bad_ledger_entry', detail: p.error };
      else valid.push({ index, entry: p });
    });
    if (valid.length) {
      const out = await this.applyWithRetry(
        valid.map((v) => v.entry),
        log,
        deliveries,
      );
      valid.forEach((v, i) => (results[v.index] = out[i]!));
    }
    return results;
  }

  /** Applies a batch, retrying transient failures; isolates an entry MySQL refuses for good. */
  private async applyWithRetry(
    entries: LedgerEntry[],
    log: Logger,
    deliveries: Map<string, number>,
  ): Promise<EntryResult[]> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && this.worker.stopRequested) {
        return entries.map(() => ({ kind: 'retry' }) as const);
      }
      await this.pacer.take(entries.reduce((n, e) => n + e.lines.length, 0));
      const end = this.lm.writeLatency.startTimer();
      try {
        const res = await applyLedgerBatch(this.pool, this.keys.defaultShard, entries, {
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
        return await this.settleRefused(entries, refused, log, deliveries);
      } catch (err) {
        const label = isRetryableMysqlError(err);
        if (!label) {
          if (entries.length === 1) {
            log.error({ err, changeId: entries[0]!.changeId }, 'ledger entry refused by MySQL');
            return [
              { kind: 'dead', reason: 'ledger_write_failed', detail: (err as Error).message },
            ];
          }
          // Split to find the entry MySQL refuses; the others still go through.
          const mid = Math.ceil(entries.length / 2);
          return [
            ...(await this.applyWithRetry(entries.slice(0, mid), log, deliveries)),
            ...(await this.applyWithRetry(entries.slice(mid), log, deliveries)),
          ];
        }
        this.lm.retries.inc({ reason: label });
        if (label === 'connection') this.mysqlHealthy = false;
        const wait = backoffMs(attempt, this.cfg.RETRY_MAX_MS);
        log.warn(
          { reason: label, attempt, wait: Math.round(wait), err: (err as Error).message },
          'ledger batch retry',
        );
        await this.worker.touch(entries.map((e) => e.streamId)).catch(() => {});
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /**
   * Changes MySQL refused. With several writers a change can reach MySQL before the one it
   * follows (a confirm before its reserve, committed by another writer a moment later), so a
   * refused change is first re-tried here a few times within about a second, then left pending
   * for redelivery, and only after LEDGER_INCIDENT_DELIVERIES deliveries dead-lettered as an
   * incident.
   */
  private async settleRefused(
    entries: LedgerEntry[],
    refused: Map<string, LedgerIncident>,
    log: Logger,
    deliveries: Map<string, number>,
    quickRetry = 0,
  ): Promise<EntryResult[]> {
    const again = entries.filter((e) => refused.has(e.changeId));
    let retried: Map<string, EntryResult> | undefined;
    if (quickRetry < 3 && !this.worker.stopRequested) {
      await new Promise((r) => setTimeout(r, 100 * 3 ** quickRetry));
      const res = await applyLedgerBatch(this.pool, this.keys.defaultShard, again, {
        onRetry: (label) => this.lm.retries.inc({ reason: label }),
      });
      this.lm.rowsWritten.inc(res.rowsWritten);
      const still = new Map(res.incidents.map((i) => [i.changeId, i]));
      const out = still.size
        ? await this.settleRefused(again, still, log, deliveries, quickRetry + 1)
        : again.map(() => ({ kind: 'ack' }) as const);
      retried = new Map(again.map((e, i) => [e.changeId, out[i]!]));
    }
    return entries.map((e) => {
      const inc = refused.get(e.changeId);
      if (!inc) return { kind: 'ack' } as const;
      if (retried) return retried.get(e.changeId)!;
      if ((deliveries.get(e.streamId) ?? 1) < this.cfg.LEDGER_INCIDENT_DELIVERIES) {
        log.warn(
          { changeId: e.changeId, entryId: e.streamId, reason: inc.reason },
          'ledger change refused for now; will retry',
        );
        return { kind: 'retry' } as const;
      }
      this.lm.incidents.inc({ reason: inc.reason });
      log.error(
        { changeId: e.changeId, entryId: e.streamId, incident: inc },
        'ledger incident: change refused',
      );
      return {
        kind: 'dead',
        reason: 'ledger_incident',
        detail: `${inc.reason}: ${inc.detail}`,
      } as const;
    });
  }

  async start(): Promise<void> {
    await migrate(this.cfg.MYSQL_URL, this.log);
    await this.worker.start();
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    await Promise.allSettled([this.redis.quit(), this.blocking.quit(), this.pool.end()]);
  }

  health(): string | null {
    if (this.redis.status !== 'ready') return `redis ${this.redis.status}`;
    if (!this.mysqlHealthy) return 'mysql unreachable (retrying)';
    return this.worker.running ? null : 'worker stopped';
  }
}
