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
  ReplicaWait,
  durabilityMetrics,
  durabilitySettings,
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
  /**
   * REDIS_WAIT_REPLICAS: per shard, forwardMany and WAIT in one pipeline on a client of their own
   * (WAIT blocks its connection), so an entry is acked on checkout:events only once the shard's
   * replicas have its forward — a failover then can't lose an event ingest took in. Undefined
   * when the setting is 0.
   */
  private readonly forwarder: Redis | undefined;
  private readonly replicaWaits = new Map<string, ReplicaWait>();
  /** Set on stop: a batch waiting for replicas gives up and leaves its entries pending. */
  private stopping = false;

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
    const durability = durabilitySettings(cfg);
    if (durability.replicas > 0) {
      this.forwarder = createRedis(target, { name: 'holdfast-ingest-forward' });
      const dm = durabilityMetrics(registry);
      for (const shard of this.keys.allShards) {
        this.replicaWaits.set(
          shard,
          new ReplicaWait({ client: this.forwarder, shard, settings: durability, metrics: dm }),
        );
      }
    }
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
    const byShard = new Map<string, { pairs: string[]; items: typeof valid }>();
    valid.forEach((v, i) => {
      const route = routes[i]!;
      let group = byShard.get(route.shard);
      if (!group) byShard.set(route.shard, (group = { pairs: [], items: [] }));
      group.pairs.push(v.ev.eventId, encodeInternalEvent(v.ev, v.srcId, route.lineShards));
      group.items.push(v);
    });
    await Promise.all(
      [...byShard].map(async ([shard, group]) => {
        let forwarded: number[] | undefined;
        try {
          forwarded = await this.forward(shard, group.pairs, log);
        } catch (err) {
          log.warn({ err, shard, entries: group.items.length }, 'forward failed; will be retried');
        }
        if (!forwarded) {
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

  /**
   * One shard's forwardMany; with REDIS_WAIT_REPLICAS, followed by WAIT on the same connection.
   * Unlike the reserver, ingest does not ack what its replicas lack: until the forward is
   * replicated, the producer's entry stays pending in checkout:events, so after a failover that
   * lost the forward it is forwarded again. While fewer replicas acknowledge, each round sends
   * the batch's forwardMany again (answering no retries) before WAIT: that is a write on the
   * connection WAIT is asked on — a WAIT on a connection that wrote nothing returns at once and
   * proves nothing, e.g. on a fresh connection to a newly promoted primary — and on a primary
   * that lacks the forward it forwards it again (forwardMany dedupes the rest). Rounds go on
   * until the replicas have it or the primary has none left to wait for (a failed replica is
   * not counted), so intake of that batch waits while a replica lags — the price of the setting
   * — rather than leaving the entries to be redelivered until they are dead-lettered
   * (MAX_DELIVERIES). Undefined on stop: the entries stay pending for another replica.
   */
  private async forward(
    shard: string,
    pairs: string[],
    log: Logger,
  ): Promise<number[] | undefined> {
    const sk = this.keys.shard(shard);
    const keys = [sk.inbound, sk.prefix, sk.repliesPrefix];
    const args = (answerRetries: boolean) => [
      this.cfg.DEDUPE_TTL_SECONDS,
      this.cfg.REPLY_MAXLEN,
      this.cfg.REPLY_TTL_SECONDS,
      answerRetries ? 1 : 0,
      ...pairs,
    ];
    const replicas = this.replicaWaits.get(shard);
    if (!replicas) return runScript<number[]>(this.redis, 'forwardMany', keys, args(true));
    const round = async (answerRetries: boolean) => {
      const { replies, wait } = await replicas.after((p) => {
        runScript(p, 'forwardMany', keys, args(answerRetries));
      });
      const [err, value] = replies[0]!;
      if (err) throw err;
      return { forwarded: value as number[], wait };
    };
    const first = await round(true);
    const forwarded = [...first.forwarded];
    let wait = first.wait;
    while (wait.result === 'short' && !this.stopping) {
      replicas.warnShort(log, wait, 'waiting before acking the entries');
      const again = await round(false);
      // An event the primary lacked (a failover lost its forward) was forwarded again now.
      again.forwarded.forEach((n, i) => (forwarded[i] = Math.max(forwarded[i]!, n)));
      wait = again.wait;
    }
    return wait.result === 'short' ? undefined : forwarded;
  }

  async start(): Promise<void> {
    await this.worker.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.worker.stop();
    await Promise.allSettled([
      this.redis.quit(),
      this.blocking.quit(),
      ...(this.forwarder ? [this.forwarder.quit()] : []),
    ]);
  }

  health(): string | null {
    if (this.redis.status !== 'ready') return `redis ${this.redis.status}`;
    return this.worker.running ? null : 'worker stopped';
  }
}
