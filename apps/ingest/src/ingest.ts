/**
 * ingest: takes producers' entries from checkout:events, validates them against the contract,
 * dead-letters what is invalid, and forwards each new event_id to the reserver's inbound stream
 * in the same atomic step that records it (forwardMany-2.lua), so a crash between the two can
 * neither lose nor double an event. A duplicate event_id has no effect.
 */
import type { Redis } from '@holdfast/shared';
import {
  GROUPS,
  Keys,
  StreamWorker,
  createRedis,
  fault,
  encodeInternalEvent,
  runScript,
  uniqueConsumerName,
  workerSettings,
  validateCheckoutEvent,
  workerMetrics,
  type EntryResult,
  type Logger,
  type Registry,
  type Service,
  type StreamEntry,
} from '@holdfast/shared';
import type { IngestConfig } from './config.js';

export class Ingest implements Service {
  private readonly redis: Redis;
  private readonly blocking: Redis;
  private readonly worker: StreamWorker;
  private readonly keys: Keys;
  private readonly metrics: ReturnType<typeof workerMetrics>;

  constructor(
    private readonly cfg: IngestConfig,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.keys = new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARD);
    this.redis = createRedis(cfg.REDIS_URL, { name: 'holdfast-ingest' });
    this.blocking = createRedis(cfg.REDIS_URL, { name: 'holdfast-ingest-read', blocking: true });
    this.metrics = workerMetrics(registry);
    this.worker = new StreamWorker({
      redis: this.redis,
      blocking: this.blocking,
      stream: this.keys.streams.events,
      group: GROUPS.ingest,
      consumer: uniqueConsumerName('ingest', cfg.CONSUMER_NAME),
      deadStream: this.keys.streams.dead,
      ...workerSettings(cfg),
      log,
      metrics: this.metrics,
      handle: (entries, log) => this.handle(entries, log),
    });
  }

  async handle(entries: StreamEntry[], log: Logger): Promise<EntryResult[]> {
    const results: EntryResult[] = new Array(entries.length);
    const sk = this.keys.shard();
    const args: Array<string | number> = [this.cfg.DEDUPE_TTL_SECONDS];
    const queued: Array<{ index: number; type: string }> = [];
    entries.forEach((e, index) => {
      const v = validateCheckoutEvent(e.fields);
      if (!v.ok) {
        results[index] = { kind: 'dead', reason: v.reason, detail: v.detail };
        this.metrics.processed.inc({ type: 'invalid', status: 'dead_letter' });
        return;
      }
      args.push(v.value.eventId, encodeInternalEvent(v.value, e.id));
      queued.push({ index, type: v.value.type });
    });
    if (queued.length) {
      // The whole batch in one call (forwardMany-2.lua): each event is still recorded and
      // forwarded atomically. If the call fails, every entry stays pending and is retried.
      let forwarded: number[];
      try {
        forwarded = await runScript<number[]>(
          this.redis,
          'forwardMany',
          [sk.inbound, sk.prefix],
          args,
        );
      } catch (err) {
        log.warn({ err, entries: queued.length }, 'forward failed; will be retried');
        for (const { index } of queued) results[index] = { kind: 'retry' };
        return results;
      }
      fault('ingest.after_forward');
      queued.forEach(({ index, type }, i) => {
        results[index] = { kind: 'ack' };
        this.metrics.processed.inc({
          type,
          status: forwarded[i] === 1 ? 'forwarded' : 'duplicate',
        });
      });
    }
    return results;
  }

  async start(): Promise<void> {
    await this.worker.start();
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    await Promise.allSettled([this.redis.quit(), this.blocking.quit()]);
  }

  health(): string | null {
    if (this.redis.status !== 'ready') return `redis ${this.redis.status}`;
    return this.worker.running ? null : 'worker stopped';
  }
}
