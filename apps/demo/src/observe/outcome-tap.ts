/**
 * OutcomeTap: reads every shard's checkout:outcomes:{shard} from its first entry (plain XREAD,
 * no group): one record per outcome, for the counts (also per shard), the decision latency and
 * the effectively-once check. One reading loop per shard, each on a blocking connection of its
 * own: on a Redis Cluster the shards' streams live in different slots (often different nodes),
 * and one XREAD cannot name streams of several slots.
 */
import { createRedis, toFields, type Keys, type Redis, type RedisTarget } from '@holdfast/shared';
import { retrying } from './retry.js';
import { idMs, type XReadReply } from './stream-info.js';

export interface OutcomeRecord {
  type: string;
  status: string;
  reason: string | undefined;
  checkoutId: string;
  at: number;
  expiresAt: number | undefined;
}

/** One shard's outcomes, counted. */
export interface ShardOutcomes {
  count: number;
  /** By `status` or `status:reason`. */
  byStatus: Record<string, number>;
  byType: Record<string, number>;
}

/** What the tap saw, read-only (the checks and the report use this). */
export interface OutcomeLog {
  /** event_id → its first outcome. */
  readonly byEvent: ReadonlyMap<string, OutcomeRecord>;
  /** event_ids that got more than one outcome (must stay empty; across shards too). */
  readonly repeated: readonly string[];
  readonly count: number;
  /** By `status` or `status:reason`. */
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byType: Readonly<Record<string, number>>;
  /** The same counts per shard (the shard whose stream carried the outcome). */
  readonly byShard: Readonly<Record<string, ShardOutcomes>>;
  /** The latest outcome's `at`. */
  readonly lastAt: number;
}

/** One shard's stream: its connection and how far it was read. */
interface Tail {
  shard: string;
  stream: string;
  conn: Redis;
  lastId: string;
  loop: Promise<void> | undefined;
}

/** Reads every outcome of the namespace, each shard's in order. */
export class OutcomeTap implements OutcomeLog {
  readonly byEvent = new Map<string, OutcomeRecord>();
  readonly repeated: string[] = [];
  readonly byStatus: Record<string, number> = {};
  readonly byType: Record<string, number> = {};
  readonly byShard: Record<string, ShardOutcomes> = {};
  count = 0;
  lastAt = 0;
  private stopping = false;
  private readonly tails: Tail[];

  constructor(redis: string | RedisTarget, keys: Keys) {
    this.tails = keys.allShards.map((shard, i) => {
      this.byShard[shard] = { count: 0, byStatus: {}, byType: {} };
      return {
        shard,
        stream: keys.shard(shard).outcomes,
        conn: createRedis(redis, { name: `holdfast-demo-outcome-tap-${i}`, blocking: true }),
        lastId: '0-0',
        loop: undefined,
      };
    });
  }

  start(): void {
    for (const t of this.tails) t.loop = this.run(t);
  }

  private async run(t: Tail): Promise<void> {
    while (!this.stopping) {
      const res = (await retrying(() =>
        t.conn.xread('COUNT', 5000, 'BLOCK', 200, 'STREAMS', t.stream, t.lastId),
      )) as XReadReply;
      if (res) this.take(t, res[0]![1]);
    }
  }

  private take(t: Tail, entries: Array<[string, string[] | null]>): void {
    for (const [id, flat] of entries) {
      t.lastId = id;
      if (flat) this.record(t.shard, id, toFields(flat));
    }
  }

  private record(shard: string, id: string, f: Record<string, string>): void {
    const ev = f.event_id ?? '';
    const rec: OutcomeRecord = {
      type: f.type ?? '',
      status: f.status ?? '',
      reason: f.reason,
      checkoutId: f.checkout_id ?? '',
      at: Number(f.at ?? idMs(id)),
      expiresAt: f.expires_at ? Number(f.expires_at) : undefined,
    };
    this.count++;
    if (rec.at > this.lastAt) this.lastAt = rec.at;
    const key = rec.reason ? `${rec.status}:${rec.reason}` : rec.status;
    const s = this.byShard[shard]!;
    for (const [byStatus, byType] of [
      [this.byStatus, this.byType],
      [s.byStatus, s.byType],
    ] as const) {
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      byType[rec.type] = (byType[rec.type] ?? 0) + 1;
    }
    s.count++;
    if (this.byEvent.has(ev)) this.repeated.push(ev);
    else this.byEvent.set(ev, rec);
  }

  /** Stops the live loops, then reads whatever is left up to each stream's end. */
  async finish(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.tails.map((t) => (t.loop ?? Promise.resolve()).catch(() => {})));
    for (const t of this.tails) {
      for (;;) {
        const page = (await t.conn.xrange(t.stream, `(${t.lastId}`, '+', 'COUNT', 5000)) as Array<
          [string, string[]]
        >;
        if (!page.length) break;
        this.take(t, page);
      }
      t.conn.disconnect();
    }
  }
}
