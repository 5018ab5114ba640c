/**
 * reserver: decides every checkout event atomically in Redis (the gate's Lua scripts), keeps
 * holds and expires them, applies operators' restocks and limits. Each decision writes its
 * outcome and, for a state change, one ledger entry in the same Lua call; the stream entry is
 * acked afterwards, and a redelivery is answered 'duplicate' by the script.
 *
 * One script call per batch (decideMany-5.lua): the whole batch of decisions costs one round
 * trip and one EVALSHA, and the inbound payloads go to it unparsed.
 */
import type { AdminCommand, Redis } from '@holdfast/shared';
import {
  GROUPS,
  Gate,
  Keys,
  Placement,
  redisTarget,
  servedShards,
  StreamWorker,
  createRedis,
  INTERNAL_EVENT_FIELD,
  ReplicaWait,
  durabilityMetrics,
  durabilitySettings,
  fromLegacyFields,
  fault,
  streamIdMs,
  uniqueConsumerName,
  workerSettings,
  validateAdminEvent,
  workerMetrics,
  type EntryResult,
  type Logger,
  type Registry,
  type Service,
  type StreamEntry,
} from '@holdfast/shared';
import { gateConfig, type ReserverConfig } from './config.js';
import { reserverMetrics } from './metrics.js';
import { ExpirySweeper } from './expiry-sweeper.js';
import { relayOutbox } from './relay.js';
import { waitAfterDecisions } from './durability.js';

/** One shard served by this replica: its gate, its inbound worker (own blocking client), its sweeper. */
interface ShardLane {
  shard: string;
  gate: Gate;
  inbound: StreamWorker;
  blocking: Redis;
  sweeper: ExpirySweeper;
  /** Carts across shards: copies this shard's outbox to other shards' inbound streams. */
  relay: StreamWorker;
  relayBlocking: Redis;
}

export class Reserver implements Service {
  private readonly redis: Redis;
  private readonly blockingAdmin: Redis;
  private readonly keys: Keys;
  private readonly placement: Placement;
  private readonly gates = new Map<string, Gate>();
  private readonly lanes: ShardLane[];
  private readonly admin: StreamWorker;
  private readonly served: string[];
  private readonly wm: ReturnType<typeof workerMetrics>;
  private readonly rm: ReturnType<typeof reserverMetrics>;

  constructor(cfg: ReserverConfig, log: Logger, registry: Registry) {
    this.keys = new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARDS);
    this.served = servedShards(cfg);
    const target = redisTarget(cfg);
    this.redis = createRedis(target, { name: 'holdfast-reserver' });
    this.placement = new Placement(this.redis, this.keys);
    for (const shard of this.keys.allShards) {
      this.gates.set(shard, new Gate(this.keys, gateConfig(cfg), shard));
    }
    this.blockingAdmin = createRedis(target, {
      name: 'holdfast-reserver-admin',
      blocking: true,
    });
    this.wm = workerMetrics(registry);
    this.rm = reserverMetrics(registry);
    const consumer = uniqueConsumerName('reserver', cfg.CONSUMER_NAME);
    const dm = durabilityMetrics(registry);
    const common = {
      redis: this.redis,
      group: GROUPS.reserver,
      consumer,
      deadStream: this.keys.streams.dead,
      ...workerSettings(cfg),
      metrics: this.wm,
    };
    this.lanes = this.served.map((shard) => {
      const gate = this.gates.get(shard)!;
      const blocking = createRedis(target, {
        name: `holdfast-reserver-read-${shard}`,
        blocking: true,
      });
      const slog = log.child({ shard });
      // REDIS_WAIT_REPLICAS: on the lane's reading client, idle while its batch is decided.
      const replicas = new ReplicaWait({
        client: blocking,
        shard,
        fence: { stream: this.keys.shard(shard).inbound, group: GROUPS.reserver, consumer },
        settings: durabilitySettings(cfg),
        metrics: dm,
      });
      const relayBlocking = createRedis(target, {
        name: `holdfast-reserver-relay-${shard}`,
        blocking: true,
      });
      return {
        shard,
        gate,
        blocking,
        relayBlocking,
        relay: new StreamWorker({
          ...common,
          group: GROUPS.relay,
          log: slog,
          blocking: relayBlocking,
          stream: this.keys.shard(shard).outbox,
          handle: (entries, l) => relayOutbox(this.redis, this.keys, entries, l),
        }),
        inbound: new StreamWorker({
          ...common,
          log: slog,
          blocking,
          stream: this.keys.shard(shard).inbound,
          handle: async (entries, l) => {
            const results = await this.decide(gate, entries, l);
            await waitAfterDecisions(replicas, entries, results, l);
            return results;
          },
        }),
        sweeper: new ExpirySweeper(this.redis, gate, this.keys.shard(shard), {
          intervalMs: cfg.SWEEP_INTERVAL_MS,
          batch: cfg.SWEEP_BATCH,
          log: slog,
          onExpired: (n) => this.rm.holdsExpired.inc({ shard }, n),
          onActive: (n) => this.rm.holdsActive.set({ shard }, n),
        }),
      };
    });
    // Operators' entries: one stream for the deployment; each goes to its SKU's shard.
    this.admin = new StreamWorker({
      ...common,
      log,
      blocking: this.blockingAdmin,
      stream: this.keys.streams.admin,
      handle: (entries, l) => this.applyAdmin(entries, l),
    });
  }

  async decide(gate: Gate, entries: StreamEntry[], log: Logger): Promise<EntryResult[]> {
    const results: EntryResult[] = new Array(entries.length);
    const payloads: string[] = [];
    const queued: number[] = [];
    // An entry the gate can never decide: dead-lettered at once (a retry can't change it).
    const dead = (index: number, detail: string) => {
      results[index] = { kind: 'dead', reason: 'bad_internal_event', detail };
      this.wm.processed.inc({ type: 'invalid', status: 'dead_letter' });
    };
    entries.forEach((e, index) => {
      // An S in entry is one field, `e`, the payload ingest validated; the gate decodes it and
      // checks its shape (decideMany-5.lua), so it is passed through without parsing here.
      const f = e.fields;
      const payload = f.length === 2 && f[0] === INTERNAL_EVENT_FIELD ? f[1]! : fromLegacyFields(f);
      if (payload === undefined) {
        dead(index, `an inbound entry must have exactly one field "${INTERNAL_EVENT_FIELD}"`);
        return;
      }
      payloads.push(payload);
      queued.push(index);
    });
    if (!queued.length) return results;
    // The whole batch in one script call; an error in one event's slot leaves that entry
    // pending (retried, then dead-lettered), the others are decided.
    const decisions = await gate.decidePayloads(this.redis, payloads);
    fault('reserver.after_decide');
    const decidedAt = Date.now();
    queued.forEach((index, i) => {
      const d = decisions[i] ?? new Error('no reply');
      if (d instanceof Error) {
        if (d.message.startsWith('ERR bad_event')) {
          dead(index, d.message); // malformed payload: the script wrote nothing
          return;
        }
        log.error({ err: d, entryId: entries[index]!.id }, 'decision failed; will be retried');
        results[index] = { kind: 'retry' };
        return;
      }
      results[index] = { kind: 'ack' };
      this.wm.processed.inc({ type: d.type, status: d.reason ?? d.status });
      const srcMs = streamIdMs(d.srcId);
      if (d.status !== 'duplicate' && srcMs > 0) {
        this.rm.decisionLatency.observe(
          { type: d.type, shard: gate.shard },
          Math.max(0, decidedAt - srcMs) / 1000,
        );
      }
    });
    return results;
  }

  /**
   * Operators' entries, each applied on its SKU's shard: a restock or limit of a new SKU first
   * records its placement (the placed shard, else the placement function's), then runs on that
   * shard's gate — one pipeline per shard, since a pipeline on Redis Cluster stays in one slot.
   */
  async applyAdmin(entries: StreamEntry[], log: Logger): Promise<EntryResult[]> {
    const results: EntryResult[] = new Array(entries.length);
    const byShard = new Map<string, Array<{ index: number; cmd: AdminCommand }>>();
    for (const [index, e] of entries.entries()) {
      const v = validateAdminEvent(e.fields);
      if (!v.ok) {
        results[index] = { kind: 'dead', reason: v.reason, detail: v.detail };
        continue;
      }
      const cmd = v.value;
      try {
        if (cmd.type === 'place') {
          results[index] = await this.place(cmd.sku, cmd.shard, log, e.id);
          continue;
        }
        const { shard } = await this.placement.ensure(cmd.sku);
        const list = byShard.get(shard) ?? [];
        list.push({ index, cmd });
        byShard.set(shard, list);
      } catch (err) {
        log.error({ err, entryId: e.id }, 'admin placement failed; will be retried');
        results[index] = { kind: 'retry' };
      }
    }
    await Promise.all(
      [...byShard].map(async ([shard, queued]) => {
        const gate = this.gates.get(shard);
        if (!gate) {
          // A SKU placed on a shard this deployment no longer lists: an operator must act.
          for (const { index } of queued) {
            results[index] = {
              kind: 'dead',
              reason: 'unknown_shard',
              detail: `the SKU is placed on shard ${shard}, which is not in HOLDFAST_SHARDS`,
            };
          }
          return;
        }
        const p = this.redis.pipeline();
        for (const { cmd } of queued) gate.queueAdmin(p, cmd);
        const res = (await p.exec().catch((err: Error) => queued.map(() => [err, null]))) ?? [];
        queued.forEach(({ index, cmd }, i) => {
          const [err, value] = res[i] ?? [new Error('no reply')];
          if (err) {
            log.error({ err, entryId: entries[index]!.id }, 'admin event failed; will be retried');
            results[index] = { kind: 'retry' };
            return;
          }
          results[index] = { kind: 'ack' };
          this.wm.processed.inc({ type: cmd.type, status: (value as string[])[0]! });
          log.info(
            { entryId: entries[index]!.id, type: cmd.type, shard, result: value },
            'admin event applied',
          );
        });
      }),
    );
    return results;
  }

  /**
   * Admin `place` (contract v2): records a SKU's shard before it exists. An unknown shard, or a
   * SKU already placed elsewhere, is dead-lettered with the reason; placing it again on the same
   * shard (a redelivery, a repeated command) is a no-op.
   */
  private async place(
    sku: string,
    shard: string,
    log: Logger,
    entryId: string,
  ): Promise<EntryResult> {
    if (!this.keys.hasShard(shard)) {
      return {
        kind: 'dead',
        reason: 'unknown_shard',
        detail: `shard ${shard} is not one of HOLDFAST_SHARDS (${this.keys.allShards.join(', ')})`,
      };
    }
    const got = await this.placement.ensure(sku, shard);
    if (got.shard !== shard) {
      return {
        kind: 'dead',
        reason: 'sku_exists',
        detail: `SKU ${sku} already lives on shard ${got.shard}`,
      };
    }
    this.wm.processed.inc({ type: 'place', status: got.created ? 'placed' : 'already_placed' });
    log.info({ entryId, sku, shard, created: got.created }, 'admin event applied');
    return { kind: 'ack' };
  }

  async start(): Promise<void> {
    // Publish the shard list and record the placement of SKUs that predate it, before any
    // admin entry creates a SKU (contract v2: `holdfast:shards`, `holdfast:placement`).
    await this.placement.publish(this.served);
    for (const lane of this.lanes) {
      await lane.inbound.start();
      await lane.relay.start();
    }
    await this.admin.start();
    for (const lane of this.lanes) lane.sweeper.start();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([
      this.admin.stop(),
      ...this.lanes.flatMap((l) => [l.inbound.stop(), l.relay.stop(), l.sweeper.stop()]),
    ]);
    await Promise.allSettled([
      this.redis.quit(),
      this.blockingAdmin.quit(),
      ...this.lanes.flatMap((l) => [l.blocking.quit(), l.relayBlocking.quit()]),
    ]);
  }

  health(): string | null {
    if (this.redis.status !== 'ready') return `redis ${this.redis.status}`;
    if (!this.admin.running) return 'admin worker stopped';
    const stopped = this.lanes
      .filter((l) => !l.inbound.running || !l.relay.running)
      .map((l) => l.shard);
    return stopped.length ? `worker stopped (shard ${stopped.join(', ')})` : null;
  }
}
