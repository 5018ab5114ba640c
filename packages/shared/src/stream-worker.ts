/**
 * The consumer-group worker every service uses.
 *
 *  - XREADGROUP in batches with BLOCK; on start it first takes back its own pending entries
 *    (a restart under a stable CONSUMER_NAME);
 *  - XAUTOCLAIM of entries idle past `claimIdleMs`, so a dead replica's work is taken over;
 *  - an entry delivered more than `maxDeliveries` times is dead-lettered with a reason and acked;
 *  - entries are acked only after the handler returned, i.e. after their effect is in Redis;
 *  - dead letters are written by a Lua script (lua/deadLetter-2.lua), then the batch is acked
 *    in a separate XACK. They can't share a MULTI: on Redis Cluster the source stream and the
 *    dead stream sit in different slots (CROSSSLOT). Instead the script marks each dead letter
 *    it writes with a key in the dead stream's own slot (deadSeenKey, kept `deadSeenTtlSeconds`)
 *    and writes nothing for an entry already marked: a crash between script and ack redelivers
 *    the entry, it is dead-lettered again as a no-op and acked — still exactly one dead letter;
 *  - housekeeping: gauges for lag/pending, trimming that never drops an entry some group has
 *    not acked, removal of long-idle consumers that hold nothing.
 *
 * The handler must be idempotent per entry (redelivery after a crash is normal); the services
 * make it so with dedupe keys inside their Lua scripts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WorkerMetrics } from './metrics.js';
import { fault } from './fault.js';
import { runScript } from './lua/index.js';

export interface StreamEntry {
  id: string;
  /** Flat field/value list, as XADD wrote it. */
  fields: string[];
  /** How many times the group has delivered this entry (1 on first delivery). */
  deliveries: number;
}

export type EntryResult =
  | { kind: 'ack' }
  | { kind: 'dead'; reason: string; detail: string }
  /** Leave pending: it is claimed again after claimIdleMs and counts as another delivery. */
  | { kind: 'retry' };

export interface StreamWorkerOptions {
  /** Connection for ordinary commands. */
  redis: Redis;
  /** Dedicated connection for the blocking XREADGROUP. */
  blocking: Redis;
  stream: string;
  group: string;
  consumer: string;
  deadStream: string;
  batchSize: number;
  blockMs: number;
  claimIdleMs: number;
  maxDeliveries: number;
  /** Values longer than this are truncated in dead letters. */
  deadValueMaxBytes?: number;
  /**
   * HOLDFAST_NAMESPACE: prefixes the worker's own keys (the dead-letter markers, see
   * deadSeenKey) so they go with the namespace. Default '' (production).
   */
  namespace?: string;
  /**
   * How long a dead letter's marker is kept: a crash between writing a dead letter and acking
   * its entry writes no second dead letter if the entry comes back within this time. Default
   * DEAD_SEEN_TTL_SECONDS; the services pass DEDUPE_TTL_SECONDS (workerSettings).
   */
  deadSeenTtlSeconds?: number;
  /** Remove other consumers idle this long that hold no pending entries. */
  consumerIdleMs?: number;
  /** Housekeeping (gauges, trimming, idle consumers) every this many ms; 0 = off. */
  housekeepingMs?: number;
  /** Trim acknowledged entries from the stream. */
  trim?: boolean;
  log: Logger;
  metrics?: WorkerMetrics;
  handle(entries: StreamEntry[], log: Logger): Promise<EntryResult[]>;
}

/** The worker settings every service reads from its environment (env.ts `workerEnv`). */
export function workerSettings(cfg: {
  BATCH_SIZE: number;
  BLOCK_MS: number;
  CLAIM_IDLE_MS: number;
  MAX_DELIVERIES: number;
  DLQ_MAX_VALUE_BYTES: number;
  CONSUMER_IDLE_MS: number;
  HOUSEKEEPING_MS: number;
  /** commonEnv's: every service has them; optional so that a bare worker config still fits. */
  HOLDFAST_NAMESPACE?: string;
  DEDUPE_TTL_SECONDS?: number;
}) {
  return {
    batchSize: cfg.BATCH_SIZE,
    blockMs: cfg.BLOCK_MS,
    claimIdleMs: cfg.CLAIM_IDLE_MS,
    maxDeliveries: cfg.MAX_DELIVERIES,
    deadValueMaxBytes: cfg.DLQ_MAX_VALUE_BYTES,
    consumerIdleMs: cfg.CONSUMER_IDLE_MS,
    housekeepingMs: cfg.HOUSEKEEPING_MS,
    namespace: cfg.HOLDFAST_NAMESPACE,
    // The dedupe window is the time within which a redelivery has no effect: the same for a
    // dead letter as for an event.
    deadSeenTtlSeconds: cfg.DEDUPE_TTL_SECONDS,
  };
}

/**
 * Default life of a dead letter's marker: 7 days, DEDUPE_TTL_SECONDS' default (env.ts). Far
 * longer than any entry stays pending before it is redelivered.
 */
export const DEAD_SEEN_TTL_SECONDS = 7 * 86_400;

/** The part of `key` Redis Cluster hashes: the first non-empty {…}, else the whole key. */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/**
 * Prefix of the dead-letter markers of `deadStream`: `<ns>hf:dead-seen:{<dead stream>}:`. Its
 * hash tag is what Redis hashes of the dead stream's name (the whole name, as for
 * `checkout:dead`), so every marker lives in the dead stream's slot and the deadLetter script
 * may touch both on Redis Cluster.
 */
export function deadSeenPrefix(namespace: string, deadStream: string): string {
  if (/[{}]/.test(namespace))
    throw new Error(`a namespace may not contain { or }: ${JSON.stringify(namespace)}`);
  const tag = hashedPart(deadStream);
  // Only a whole name can contain '}' here; wrapped in braces it would not hash the same.
  if (tag.includes('}'))
    throw new Error(`dead stream name ${JSON.stringify(deadStream)} can't be hash-tagged`);
  return `${namespace}hf:dead-seen:{${tag}}:`;
}

/** The marker saying the entry `entryId` of `sourceStream` has its dead letter. */
export function deadSeenKey(
  namespace: string,
  deadStream: string,
  sourceStream: string,
  entryId: string,
): string {
  return `${deadSeenPrefix(namespace, deadStream)}${deadSeenSuffix(sourceStream, entryId)}`;
}

function deadSeenSuffix(sourceStream: string, entryId: string): string {
  return `${sourceStream}:${entryId}`;
}

export interface DeadLetter {
  sourceStream: string;
  entryId: string;
  /** The dead letter's field/value list (deadLetterFields). */
  fields: string[];
}

/**
 * Writes dead letters through lua/deadLetter-2.lua, each at most once per (source stream, entry
 * id) within `ttlSeconds`. One call for the whole list; returns per letter whether it was
 * written (false: its marker exists, it was written before). `redis` may be a Cluster client
 * (with the scripts registered): every key of the call is in the dead stream's slot.
 */
export async function writeDeadLetters(
  redis: Redis,
  o: { namespace?: string; deadStream: string; ttlSeconds?: number },
  letters: readonly DeadLetter[],
): Promise<boolean[]> {
  if (!letters.length) return [];
  const args: Array<string | number> = [o.ttlSeconds ?? DEAD_SEEN_TTL_SECONDS];
  for (const l of letters) {
    args.push(deadSeenSuffix(l.sourceStream, l.entryId), l.fields.length, ...l.fields);
  }
  const res = await runScript<number[]>(
    redis,
    'deadLetter',
    [o.deadStream, deadSeenPrefix(o.namespace ?? '', o.deadStream)],
    args,
  );
  return res.map((r) => r === 1);
}

/** A consumer name unique per replica (host, pid and a random suffix). */
export function uniqueConsumerName(prefix: string, configured?: string): string {
  return configured ?? `${prefix}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

type RawEntry = [string, string[] | null];

const DEAD_META = ['reason', 'detail', 'source_stream', 'source_id', 'deliveries', 'truncated'];

/**
 * Most field/value pairs a dead letter holds, metadata included: the deadLetter script passes
 * them to XADD with Lua's unpack, which takes fewer than 8,000 values. An entry with more
 * fields keeps its first ones, and the dead letter is marked `truncated`.
 */
export const DEAD_MAX_PAIRS = 3_500;

/** Builds the field list of a dead letter: metadata, then the original pairs. */
export function deadLetterFields(
  stream: string,
  entry: StreamEntry,
  reason: string,
  detail: string,
  maxValueBytes = 65_536,
): string[] {
  const out = [
    'reason',
    reason,
    'detail',
    detail.slice(0, 500),
    'source_stream',
    stream,
    'source_id',
    entry.id,
    'deliveries',
    String(entry.deliveries),
  ];
  let truncated = false;
  const f = entry.fields;
  for (let i = 0; i + 1 < f.length; i += 2) {
    // Room for this pair and the `truncated` one.
    if (out.length + 4 > DEAD_MAX_PAIRS * 2) {
      truncated = true;
      break;
    }
    let name = f[i]!;
    let value = f[i + 1]!;
    if (Buffer.byteLength(name) > 1024) {
      name = name.slice(0, 1024);
      truncated = true;
    }
    if (DEAD_META.includes(name) || name.startsWith('original.')) name = `original.${name}`;
    if (Buffer.byteLength(value) > maxValueBytes) {
      value = Buffer.from(value).subarray(0, maxValueBytes).toString();
      truncated = true;
    }
    out.push(name, value);
  }
  if (truncated) out.push('truncated', '1');
  return out;
}

/** Recovers the original field list of a dead letter (for replay). */
export function originalFields(deadFields: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < deadFields.length; i += 2) {
    const name = deadFields[i]!;
    if (DEAD_META.includes(name)) continue;
    out.push(
      name.startsWith('original.') ? name.slice('original.'.length) : name,
      deadFields[i + 1]!,
    );
  }
  return out;
}

function nextId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${BigInt(seq ?? '0') + 1n}`;
}

/** Orders two stream ids ('ms-seq') numerically. */
export function cmpId(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/**
 * The oldest id some group of `stream` still needs: entries below it are acked by every group.
 * Returns null when there is nothing that may be trimmed safely (no groups).
 */
export async function safeTrimPoint(redis: Redis, stream: string): Promise<string | null> {
  const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  if (!groups.length) return null;
  let min: string | null = null;
  for (const g of groups) {
    const info = toObject(g);
    const name = String(info.name);
    let need: string;
    // Entries up to last-delivered-id are delivered; the oldest pending one may be older. The
    // XINFO reading may be a moment old: that only makes the point more conservative. If
    // pending drained between the two calls, the summary has no oldest id.
    need = nextId(String(info['last-delivered-id']));
    if (Number(info.pending) > 0) {
      const summary = (await redis.xpending(stream, name)) as [
        number,
        string | null,
        string | null,
        unknown,
      ];
      if (summary[1] && cmpId(summary[1], need) < 0) need = summary[1];
    }
    if (min === null || cmpId(need, min) < 0) min = need;
  }
  return min;
}

/** A flat field/value list as an object (last value wins). */
export function toFields(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}

/** A flat XINFO-style reply (name, value, name, value, …) as an object. */
export function toObject(flat: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = flat[i + 1];
  return o;
}

export class StreamWorker {
  private stopping = false;
  private loop: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private nextClaimAt = 0;
  private claimCursor = '0-0';
  private consecutiveErrors = 0;
  /** Last time a batch completed or a read returned (for /healthz). */
  lastProgressAt = Date.now();
  private readonly log: Logger;

  constructor(private readonly o: StreamWorkerOptions) {
    this.log = o.log.child({ stream: o.stream, group: o.group, consumer: o.consumer });
  }

  async start(): Promise<void> {
    await this.ensureGroup();
    if (this.o.housekeepingMs) {
      this.housekeeping = setInterval(() => {
        this.runHousekeeping().catch((err) => this.log.warn({ err }, 'housekeeping failed'));
      }, this.o.housekeepingMs);
      this.housekeeping.unref();
    }
    this.loop = this.run();
  }

  /** Stops reading, finishes and acks the batch in hand. Safe to call twice. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.housekeeping) clearInterval(this.housekeeping);
      await this.loop;
    })();
    return this.stopped;
  }

  /**
   * Resets the idle time of entries this consumer is still working on (XCLAIM … JUSTID does
   * not count a delivery), so a long retry — MySQL down — is not mistaken for a dead replica.
   */
  async touch(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.o.redis.xclaim(this.o.stream, this.o.group, this.o.consumer, 0, ...ids, 'JUSTID');
  }

  /** True once stop() was called: long-running handlers should give their batch back. */
  get stopRequested(): boolean {
    return this.stopping;
  }

  get running(): boolean {
    return this.loop !== undefined && !this.stopping;
  }

  private async ensureGroup(): Promise<void> {
    try {
      // From id 0: entries producers added while the fleet was down are processed too.
      await this.o.redis.xgroup('CREATE', this.o.stream, this.o.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  private async run(): Promise<void> {
    try {
      await this.recoverOwnPending();
    } catch (err) {
      this.log.warn({ err }, 'could not recover own pending entries; XAUTOCLAIM will');
    }
    while (!this.stopping) {
      try {
        if (Date.now() >= this.nextClaimAt) await this.claimIdle();
        if (this.stopping) break;
        const entries = await this.readNew();
        this.lastProgressAt = Date.now();
        if (entries.length) await this.process(entries);
        this.consecutiveErrors = 0;
      } catch (err) {
        if (this.stopping) break;
        if (String((err as Error).message).includes('NOGROUP')) {
          // The stream or its group is gone (a Redis restarted from an old or no AOF, a manual
          // DEL): re-create it from id 0 — redelivered entries are deduped by the handlers.
          this.log.warn('consumer group missing: re-creating it');
          await this.ensureGroup().catch(() => {});
        }
        this.consecutiveErrors++;
        const wait = Math.min(5_000, 50 * 2 ** Math.min(this.consecutiveErrors, 7));
        this.log.warn({ err, wait }, 'batch failed; entries stay pending');
        await sleep(wait);
      }
    }
  }

  private async recoverOwnPending(): Promise<void> {
    for (;;) {
      const rows = (await this.o.redis.xpending(
        this.o.stream,
        this.o.group,
        '-',
        '+',
        this.o.batchSize,
        this.o.consumer,
      )) as Array<[string, string, number, number]>;
      if (!rows.length) return;
      // XCLAIM to ourselves counts a delivery, so a poison entry that crashes the process
      // reaches maxDeliveries across restarts.
      const claimed = (await this.o.redis.xclaim(
        this.o.stream,
        this.o.group,
        this.o.consumer,
        0,
        ...rows.map((r) => r[0]),
      )) as RawEntry[];
      const counts = new Map(rows.map((r) => [r[0], Number(r[3]) + 1]));
      const present = new Set(claimed.map((c) => c[0]));
      const gone = rows.map((r) => r[0]).filter((id) => !present.has(id));
      if (gone.length) await this.o.redis.xack(this.o.stream, this.o.group, ...gone);
      this.log.info({ count: claimed.length }, 'recovered own pending entries');
      await this.process(
        claimed.map(([id, fields]) => ({
          id,
          fields: fields ?? [],
          deliveries: counts.get(id) ?? 1,
        })),
      );
    }
  }

  private async claimIdle(): Promise<void> {
    const res = (await this.o.redis.xautoclaim(
      this.o.stream,
      this.o.group,
      this.o.consumer,
      this.o.claimIdleMs,
      this.claimCursor,
      'COUNT',
      this.o.batchSize,
    )) as [string, RawEntry[], string[]?];
    const [cursor, raw] = res;
    this.claimCursor = cursor;
    // Scan the whole PEL in steps; once through, rest until a fraction of the idle bound passes.
    if (cursor === '0-0') this.nextClaimAt = Date.now() + Math.max(250, this.o.claimIdleMs / 4);
    const entries = raw.filter((e) => e[1] !== null);
    if (!entries.length) return;
    const ids = entries.map((e) => e[0]);
    const pend = (await this.o.redis.xpending(
      this.o.stream,
      this.o.group,
      ids[0]!,
      ids[ids.length - 1]!,
      ids.length * 2 + 10,
      this.o.consumer,
    )) as Array<[string, string, number, number]>;
    const counts = new Map(pend.map((p) => [p[0], Number(p[3])]));
    this.log.info({ count: entries.length }, 'claimed idle entries from another consumer');
    fault('worker.after_claim');
    await this.process(
      entries.map(([id, fields]) => ({
        id,
        fields: fields ?? [],
        deliveries: counts.get(id) ?? 2,
      })),
    );
  }

  private async readNew(): Promise<StreamEntry[]> {
    const res = (await this.o.blocking.xreadgroup(
      'GROUP',
      this.o.group,
      this.o.consumer,
      'COUNT',
      this.o.batchSize,
      'BLOCK',
      this.o.blockMs,
      'STREAMS',
      this.o.stream,
      '>',
    )) as Array<[string, RawEntry[]]> | null;
    if (!res?.length) return [];
    return res[0]![1].map(([id, fields]) => ({ id, fields: fields ?? [], deliveries: 1 }));
  }

  private async process(entries: StreamEntry[]): Promise<void> {
    const tooMany = entries.filter((e) => e.deliveries > this.o.maxDeliveries);
    const fresh = entries.filter((e) => e.deliveries <= this.o.maxDeliveries);
    const results = new Map<string, EntryResult>();
    for (const e of tooMany) {
      results.set(e.id, {
        kind: 'dead',
        reason: 'max_deliveries',
        detail: `delivered ${e.deliveries} times (limit ${this.o.maxDeliveries}) without success`,
      });
    }
    if (fresh.length) {
      const out = await this.o.handle(fresh, this.log);
      fresh.forEach((e, i) => results.set(e.id, out[i] ?? { kind: 'retry' }));
    }
    await this.settle(entries, results);
  }

  /**
   * Dead letters of a batch (one deadLetter script call, each written at most once), then one
   * XACK of every settled entry. Two steps, not a MULTI: on Redis Cluster the dead stream and
   * the source stream are in different slots. If the ack fails or the process dies before it,
   * the entries come back and their dead letters are not written again.
   */
  private async settle(entries: StreamEntry[], results: Map<string, EntryResult>): Promise<void> {
    const ackIds: string[] = [];
    const dead: Array<{ e: StreamEntry; r: Extract<EntryResult, { kind: 'dead' }> }> = [];
    for (const e of entries) {
      const r = results.get(e.id)!;
      if (r.kind === 'retry') continue;
      if (r.kind === 'dead') dead.push({ e, r });
      ackIds.push(e.id);
    }
    if (!ackIds.length) return;
    if (dead.length) {
      const written = await writeDeadLetters(
        this.o.redis,
        {
          namespace: this.o.namespace,
          deadStream: this.o.deadStream,
          ttlSeconds: this.o.deadSeenTtlSeconds,
        },
        dead.map(({ e, r }) => ({
          sourceStream: this.o.stream,
          entryId: e.id,
          fields: deadLetterFields(this.o.stream, e, r.reason, r.detail, this.o.deadValueMaxBytes),
        })),
      );
      dead.forEach(({ e, r }, i) => {
        if (written[i]) {
          this.o.metrics?.deadLetters.inc({ reason: r.reason });
          this.log.warn({ entryId: e.id, reason: r.reason, detail: r.detail }, 'dead-lettered');
        } else {
          this.log.info(
            { entryId: e.id, reason: r.reason },
            'dead letter written before (ack lost in a crash?): acking',
          );
        }
      });
    }
    await this.o.redis.xack(this.o.stream, this.o.group, ...ackIds);
    this.lastProgressAt = Date.now();
  }

  async runHousekeeping(): Promise<void> {
    const r = this.o.redis;
    const groups = (await r.xinfo('GROUPS', this.o.stream)) as unknown[][];
    for (const g of groups) {
      const info = toObject(g);
      if (info.name !== this.o.group) continue;
      this.o.metrics?.pending.set(
        { stream: this.o.stream, group: this.o.group },
        Number(info.pending),
      );
      if (info.lag !== null && info.lag !== undefined) {
        // Redis's lag counter can stay high after a restart from a cut AOF although the group
        // has read everything: a group whose last delivered id is the stream's last id has no lag.
        const stream = toObject((await r.xinfo('STREAM', this.o.stream)) as unknown[]);
        const caughtUp =
          cmpId(String(info['last-delivered-id']), String(stream['last-generated-id'])) >= 0;
        this.o.metrics?.lag.set(
          { stream: this.o.stream, group: this.o.group },
          caughtUp ? 0 : Number(info.lag),
        );
      }
    }
    if (this.o.trim !== false) {
      const point = await safeTrimPoint(r, this.o.stream);
      if (point) await r.xtrim(this.o.stream, 'MINID', '~', point);
    }
    if (this.o.consumerIdleMs) {
      const consumers = (await r.xinfo('CONSUMERS', this.o.stream, this.o.group)) as unknown[][];
      for (const c of consumers) {
        const info = toObject(c);
        if (info.name === this.o.consumer) continue;
        if (Number(info.pending) === 0 && Number(info.idle) > this.o.consumerIdleMs) {
          await r.xgroup('DELCONSUMER', this.o.stream, this.o.group, String(info.name));
          this.log.info({ removed: info.name }, 'removed idle consumer');
        }
      }
    }
  }
}
