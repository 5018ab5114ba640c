/**
 * reserver: decides every checkout event atomically in Redis (the gate's Lua scripts), keeps
 * holds and expires them, applies operators' restocks and limits. Each decision writes its
 * outcome and, for a state change, one ledger entry in the same Lua call; the stream entry is
 * acked afterwards, and a redelivery is answered 'duplicate' by the script.
 *
 * One script call per batch (decideMany-4.lua): the whole batch of decisions costs one round
 * trip and one EVALSHA, and the inbound payloads go to it unparsed.
 */
import type { Redis } from '@holdfast/shared';
import {
  GROUPS,
  Gate,
  Keys,
  StreamWorker,
  createRedis,
  INTERNAL_EVENT_FIELD,
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

export class Reserver implements Service {
  private readonly redis: Redis;
  private readonly blockingIn: Redis;
  private readonly blockingAdmin: Redis;
  private readonly keys: Keys;
  private readonly gate: Gate;
  private readonly inbound: StreamWorker;
  private readonly admin: StreamWorker;
  private readonly sweeper: ExpirySweeper;
  private readonly wm: ReturnType<typeof workerMetrics>;
  private readonly rm: ReturnType<typeof reserverMetrics>;

  constructor(cfg: ReserverConfig, log: Logger, registry: Registry) {
    this.keys = new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARD);
    this.gate = new Gate(this.keys, gateConfig(cfg));
    this.redis = createRedis(cfg.REDIS_URL, { name: 'holdfast-reserver' });
    this.blockingIn = createRedis(cfg.REDIS_URL, {
      name: 'holdfast-reserver-read',
      blocking: true,
    });
    this.blockingAdmin = createRedis(cfg.REDIS_URL, {
      name: 'holdfast-reserver-admin',
      blocking: true,
    });
    this.wm = workerMetrics(registry);
    this.rm = reserverMetrics(registry);
    const consumer = uniqueConsumerName('reserver', cfg.CONSUMER_NAME);
    const common = {
      redis: this.redis,
      group: GROUPS.reserver,
      consumer,
      deadStream: this.keys.streams.dead,
      ...workerSettings(cfg),
      log,
      metrics: this.wm,
    };
    this.inbound = new StreamWorker({
      ...common,
      blocking: this.blockingIn,
      stream: this.keys.shard().inbound,
      handle: (entries, l) => this.decide(entries, l),
    });
    this.admin = new StreamWorker({
      ...common,
      blocking: this.blockingAdmin,
      stream: this.keys.streams.admin,
      handle: (entries, l) => this.applyAdmin(entries, l),
    });
    this.sweeper = new ExpirySweeper(this.redis, this.gate, this.keys, {
      intervalMs: cfg.SWEEP_INTERVAL_MS,
      batch: cfg.SWEEP_BATCH,
      log,
      onExpired: (n) => this.rm.holdsExpired.inc(n),
      onActive: (n) => this.rm.holdsActive.set(n),
    });
  }

  async decide(entries: StreamEntry[], log: Logger): Promise<EntryResult[]> {
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
      // checks its shape (decideMany-4.lua), so it is passed through without parsing here.
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
    const decisions = await this.gate.decidePayloads(this.redis, payloads);
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
        this.rm.decisionLatency.observe({ type: d.type }, Math.max(0, decidedAt - srcMs) / 1000);
      }
    });
    return results;
  }

  async applyAdmin(entries: StreamEntry[], log: Logger): Promise<EntryResult[]> {
    const results: EntryResult[] = new Array(entries.length);
    const p = this.redis.pipeline();
    const queued: Array<{ index: number; type: string }> = [];
    entries.forEach((e, index) => {
      const v = validateAdminEvent(e.fields);
      if (!v.ok) {
        results[index] = { kind: 'dead', reason: v.reason, detail: v.detail };
        return;
      }
      this.gate.queueAdmin(p, v.value);
      queued.push({ index, type: v.value.type });
    });
    if (!queued.length) return results;
    const res = (await p.exec()) ?? [];
    queued.forEach(({ index, type }, i) => {
      const [err, value] = res[i] ?? [new Error('no reply')];
      if (err) {
        log.error({ err, entryId: entries[index]!.id }, 'admin event failed; will be retried');
        results[index] = { kind: 'retry' };
        return;
      }
      results[index] = { kind: 'ack' };
      this.wm.processed.inc({ type, status: (value as string[])[0]! });
      log.info({ entryId: entries[index]!.id, type, result: value }, 'admin event applied');
    });
    return results;
  }

  async start(): Promise<void> {
    await this.inbound.start();
    await this.admin.start();
    this.sweeper.start();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.inbound.stop(), this.admin.stop(), this.sweeper.stop()]);
    await Promise.allSettled([
      this.redis.quit(),
      this.blockingIn.quit(),
      this.blockingAdmin.quit(),
    ]);
  }

  health(): string | null {
    if (this.redis.status !== 'ready') return `redis ${this.redis.status}`;
    if (!this.inbound.running || !this.admin.running) return 'worker stopped';
    return null;
  }
}
