/**
 * ingest: takes producers' entries from checkout:events, validates them against the contract,
 * dead-letters what is invalid, and forwards each new event_id to the reserver's inbound stream
 * in the same atomic step that records it (forwardMany-3.lua), so a crash between the two can
 * neither lose nor double an event. A duplicate event_id has no effect. With several shards each
 * event first gets its shard (router.ts) and goes to that shard's inbound stream.
 */
import type { Redis } from '@holdfast/shared';
import {
  GROUPS,
  Keys,
  Placement,
  StreamWorker,
  redisTarget,
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
  type CheckoutEvent,
  type StreamEntry,
} from '@holdfast/shared';
import type { IngestConfig } from './config.js';
import { Router } from './router.js';

export class Ingest implements Service {
  private readonly redis: Redis;
  private readonly blocking: Redis;
  private readonly worker: StreamWorker;
  private readonly keys: Keys;
  private readonly placement: Placement;
  private readonly router: Router;
  private readonly metrics: ReturnType<typeof workerMetrics>;

  constructor(
    private readonly cfg: IngestConfig,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.keys = new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARDS);
    const target = redisTarget(cfg);
    this.redis = createRedis(target, { name: 'holdfast-ingest' });
    this.blocking = createRedis(target, { name: 'holdfast-ingest-read', blocking: true });
    this.placement = new Placement(this.redis, this.keys);
    this.router = new Router(this.redis, this.keys, this.placement, cfg.DEDUPE_TTL_SECONDS);
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
    const valid: Array<{ index: number; ev: CheckoutEvent; srcId: string }> = [];
    entries.forEach((e, index) => {
      const v = validateCheckoutEvent(e.fields);
      if (!v.ok) {
        results[index] = { kind: 'dead', reason: v.reason, detail: v.detail };
        this.metrics.processed.inc({ type: 'invalid', status: 'dead_letter' });
        return;
      }
      valid.push({ index, ev: v.value, srcId: e.id });
    });
    if (!valid.length) return results;
    const retryAll = (err: unknown, what: string) => {
      log.warn({ err, entries: valid.length }, `${what} failed; will be retried`);
      for (const { index } of valid) results[index] ??= { kind: 'retry' };
      return results;
    };
    let routes;
    try {
      routes = await this.router.route(valid.map((v) => v.ev));
    } catch (err) {
      return retryAll(err, 'routing');
    }
    // One forwardMany call per shard (one slot each), the shards in parallel. Each event is
    // still recorded and forwarded atomically; if a shard's call fails, its entries stay pending.
    const byShard = new Map<string, { args: Array<string | number>; items: typeof valid }>();
    valid.forEach((v, i) => {
      const route = routes[i]!;
      let group = byShard.get(route.shard);
      if (!group)
        byShard.set(
          route.shard,
          (group = {
            args: [this.cfg.DEDUPE_TTL_SECONDS, this.cfg.REPLY_MAXLEN, this.cfg.REPLY_TTL_SECONDS],
            items: [],
          }),
        );
      group.args.push(v.ev.eventId, encodeInternalEvent(v.ev, v.srcId, route.lineShards));
      group.items.push(v);
    });
    await Promise.all(
      [...byShard].map(async ([shard, group]) => {
        const sk = this.keys.shard(shard);
        let forwarded: number[];
        try {
          forwarded = await runScript<number[]>(
            this.redis,
            'forwardMany',
            [sk.inbound, sk.prefix, sk.repliesPrefix],
            group.args,
          );
        } catch (err) {
          log.warn({ err, shard, entries: group.items.length }, 'forward failed; will be retried');
          for (const { index } of group.items) results[index] = { kind: 'retry' };
          return;
        }
        fault('ingest.after_forward');
        group.items.forEach(({ index, ev }, i) => {
          results[index] = { kind: 'ack' };
          this.metrics.processed.inc({
            type: ev.type,
            status: forwarded[i] === 1 ? 'forwarded' : 'duplicate',
          });
        });
      }),
    );
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
