/**
 * A flash-sale crowd: buyers XADD reserves from several producer connections; a follow-up loop
 * per shard reads that shard's checkout:outcomes:{shard} (every shard of `keys`: a decision is
 * written to the outcome stream of the shard that decided it) and, for each reserved hold,
 * confirms (confirmRate), cancels (cancelRate) or abandons it (it then expires). Used by
 * end-to-end tests, the chaos suite, the demo and the benchmark.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChainableCommander, Redis } from 'ioredis';
import { createRedis, toFields, type Keys, type RedisTarget } from '@holdfast/shared';

export interface CrowdOptions {
  redisUrl: string;
  /** Seeds of a Redis Cluster (credentials from redisUrl); unset = the one Redis at redisUrl. */
  clusterNodes?: string[] | undefined;
  keys: Keys;
  checkouts: number;
  /** Lines of checkout i (default: one unit of one SKU). */
  cart: (i: number) => Array<{ sku: string; qty: number }>;
  users?: number;
  confirmRate?: number;
  cancelRate?: number;
  producers?: number;
  /** Reserves per second across producers (0 = as fast as possible). */
  ratePerSec?: number;
  holdSeconds?: number;
  idPrefix?: string;
  chunk?: number;
  /** Called after each chunk of reserves was sent. */
  onSent?: (n: number) => void;
  /** Stop early (the demo's Ctrl-C). */
  signal?: AbortSignal;
}

export interface CrowdResult {
  sent: number;
  followUps: number;
  outcomes: number;
  byStatus: Record<string, number>;
  confirmed: number;
  cancelled: number;
  abandoned: number;
  /** ms from the first XADD to the last outcome of the crowd's events. */
  elapsedMs: number;
}

type Decision = 'confirm' | 'cancel' | 'abandon';

export function followUpOf(i: number, confirmRate: number, cancelRate: number): Decision {
  // A fixed spread over i (not random) so repeated runs make the same choices.
  const u = ((i * 2654435761) % 1000) / 1000;
  return u < confirmRate ? 'confirm' : u < confirmRate + cancelRate ? 'cancel' : 'abandon';
}

export async function runCrowd(o: CrowdOptions): Promise<CrowdResult> {
  const crowd = new Crowd(o);
  try {
    await crowd.findCursor();
    await Promise.all([crowd.sendReserves(), crowd.followUp()]);
  } finally {
    crowd.close();
  }
  return crowd.result();
}

/** One crowd's connections, counters and follow-up cursor (see runCrowd). */
class Crowd {
  private readonly prefix: string;
  private readonly confirmRate: number;
  private readonly cancelRate: number;
  private readonly users: number;
  private readonly chunk: number;
  private readonly reservePrefix: string;
  private readonly followPrefix: string;
  private readonly producers: Redis[];
  /**
   * One per shard's outcome stream, each reading with a blocking XREAD on a connection of its
   * own (never shared with writes; and one XREAD cannot name streams of several Cluster slots).
   */
  private readonly readers: Array<{ stream: string; conn: Redis; cursor: string }>;
  private readonly t0 = Date.now();
  private lastOutcomeAt = this.t0;
  private sent = 0;
  private followUps = 0;
  private expectedFollowUps = 0;
  private decidedReserves = 0;
  private decidedFollowUps = 0;
  private confirmed = 0;
  private cancelled = 0;
  private abandoned = 0;
  private readonly byStatus: Record<string, number> = {};

  constructor(private readonly o: CrowdOptions) {
    this.prefix = o.idPrefix ?? 'b';
    this.confirmRate = o.confirmRate ?? 0.6;
    this.cancelRate = o.cancelRate ?? 0.2;
    this.users = o.users ?? o.checkouts;
    this.chunk = o.chunk ?? 500;
    this.reservePrefix = `${this.prefix}r`;
    this.followPrefix = `${this.prefix}f`;
    const target: RedisTarget = { url: o.redisUrl, clusterNodes: o.clusterNodes };
    this.producers = Array.from({ length: o.producers ?? 4 }, (_, i) =>
      createRedis(target, { name: `crowd-producer-${i}` }),
    );
    this.readers = o.keys.outcomeStreams.map((stream, i) => ({
      stream,
      conn: createRedis(target, { name: `crowd-follow-up-${i}`, blocking: true }),
      cursor: '0-0',
    }));
  }

  /** Follow-ups start after the newest outcome already in each stream (earlier runs' ones). */
  async findCursor(): Promise<void> {
    for (const r of this.readers) {
      const last = (await r.conn.xrevrange(r.stream, '+', '-', 'COUNT', 1)) as Array<
        [string, string[]]
      >;
      r.cursor = last[0]?.[0] ?? '0-0';
    }
  }

  /** Every producer takes the next chunk of buyers until all were sent (paced by ratePerSec). */
  async sendReserves(): Promise<void> {
    let next = 0;
    const o = this.o;
    await Promise.all(
      this.producers.map(async (r) => {
        while (next < o.checkouts && !o.signal?.aborted) {
          const from = next;
          const to = Math.min(o.checkouts, from + this.chunk);
          next = to;
          if (o.ratePerSec) {
            const wait = this.t0 + (from / o.ratePerSec) * 1000 - Date.now();
            if (wait > 0) await sleep(wait);
          }
          await this.sendChunk(r, from, to);
          this.sent += to - from;
          o.onSent?.(this.sent);
        }
      }),
    );
  }

  private async sendChunk(r: Redis, from: number, to: number): Promise<void> {
    const o = this.o;
    const p = r.pipeline();
    for (let i = from; i < to; i++) {
      const fields = [
        'type',
        'reserve',
        'event_id',
        `${this.reservePrefix}${i}`,
        'checkout_id',
        `${this.prefix}c${i}`,
        'user_id',
        `${this.prefix}u${i % this.users}`,
        'lines',
        JSON.stringify(o.cart(i)),
      ];
      if (o.holdSeconds) fields.push('hold_seconds', String(o.holdSeconds));
      p.xadd(o.keys.streams.events, '*', ...fields);
    }
    await p.exec();
  }

  private get done(): boolean {
    return (
      this.sent >= this.o.checkouts &&
      this.decidedReserves >= this.sent &&
      this.decidedFollowUps >= this.expectedFollowUps
    );
  }

  /** Reads every shard's outcomes and answers each reserved hold with its buyer's follow-up. */
  async followUp(): Promise<void> {
    await Promise.all(this.readers.map((r, i) => this.followShard(r, i)));
  }

  private async followShard(r: (typeof this.readers)[number], i: number): Promise<void> {
    const o = this.o;
    // Follow-ups go to checkout:events, one key: any producer connection will do.
    const producer = this.producers[i % this.producers.length]!;
    while (!o.signal?.aborted && !this.done) {
      const res = (await r.conn.xread(
        'COUNT',
        2000,
        'BLOCK',
        500,
        'STREAMS',
        r.stream,
        r.cursor,
      )) as Array<[string, Array<[string, string[]]>]> | null;
      if (!res) continue;
      const p = producer.pipeline();
      let queued = 0;
      for (const [id, flat] of res[0]![1]) {
        r.cursor = id;
        if (this.onOutcome(toFields(flat), p)) queued++;
      }
      if (queued) {
        await p.exec();
        this.followUps += queued;
      }
    }
  }

  /** Counts one outcome; queues the follow-up of a reserved hold (returns true if it did). */
  private onOutcome(f: Record<string, string>, p: ChainableCommander): boolean {
    const ev = f.event_id ?? '';
    if (ev.startsWith(this.reservePrefix)) {
      this.decidedReserves++;
      this.lastOutcomeAt = Date.now();
      const k = f.reason ?? f.status!;
      this.byStatus[k] = (this.byStatus[k] ?? 0) + 1;
      if (f.status !== 'reserved') return false;
      const i = Number(ev.slice(this.reservePrefix.length));
      const d = followUpOf(i, this.confirmRate, this.cancelRate);
      if (d === 'abandon') {
        this.abandoned++;
        return false;
      }
      this.expectedFollowUps++;
      p.xadd(
        this.o.keys.streams.events,
        '*',
        'type',
        d,
        'event_id',
        `${this.followPrefix}${i}`,
        'checkout_id',
        f.checkout_id!,
      );
      return true;
    }
    if (ev.startsWith(this.followPrefix)) {
      this.decidedFollowUps++;
      this.lastOutcomeAt = Date.now();
      if (f.status === 'confirmed') this.confirmed++;
      else if (f.status === 'cancelled') this.cancelled++;
      else {
        const k = `followup_${f.reason ?? f.status}`;
        this.byStatus[k] = (this.byStatus[k] ?? 0) + 1;
      }
    }
    return false;
  }

  close(): void {
    for (const r of this.producers) r.disconnect();
    for (const r of this.readers) r.conn.disconnect();
  }

  result(): CrowdResult {
    return {
      sent: this.sent,
      followUps: this.followUps,
      outcomes: this.decidedReserves + this.decidedFollowUps,
      byStatus: this.byStatus,
      confirmed: this.confirmed,
      cancelled: this.cancelled,
      abandoned: this.abandoned,
      elapsedMs: this.lastOutcomeAt - this.t0,
    };
  }
}
