/**
 * OutcomeTap: reads checkout:outcomes:{shard} from its first entry (plain XREAD, no group): one record
 * per outcome, for the counts, the decision latency and the effectively-once check.
 */
import { createRedis, toFields, type Keys, type Redis } from '@holdfast/shared';
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

/** What the tap saw, read-only (the checks and the report use this). */
export interface OutcomeLog {
  /** event_id → its first outcome. */
  readonly byEvent: ReadonlyMap<string, OutcomeRecord>;
  /** event_ids that got more than one outcome (must stay empty). */
  readonly repeated: readonly string[];
  readonly count: number;
  /** By `status` or `status:reason`. */
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byType: Readonly<Record<string, number>>;
  /** The latest outcome's `at`. */
  readonly lastAt: number;
}

/** Reads every outcome of the namespace, in order. */
export class OutcomeTap implements OutcomeLog {
  readonly byEvent = new Map<string, OutcomeRecord>();
  readonly repeated: string[] = [];
  readonly byStatus: Record<string, number> = {};
  readonly byType: Record<string, number> = {};
  count = 0;
  lastAt = 0;
  private lastId = '0-0';
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly conn: Redis;

  constructor(
    redisUrl: string,
    private readonly keys: Keys,
  ) {
    this.conn = createRedis(redisUrl, { name: 'holdfast-demo-outcome-tap', blocking: true });
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const res = (await retrying(() =>
        this.conn.xread(
          'COUNT',
          5000,
          'BLOCK',
          200,
          'STREAMS',
          this.keys.shard().outcomes,
          this.lastId,
        ),
      )) as XReadReply;
      if (res) this.take(res[0]![1]);
    }
  }

  private take(entries: Array<[string, string[] | null]>): void {
    for (const [id, flat] of entries) {
      this.lastId = id;
      if (flat) this.record(id, toFields(flat));
    }
  }

  private record(id: string, f: Record<string, string>): void {
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
    this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
    this.byType[rec.type] = (this.byType[rec.type] ?? 0) + 1;
    if (this.byEvent.has(ev)) this.repeated.push(ev);
    else this.byEvent.set(ev, rec);
  }

  /** Stops the live loop, then reads whatever is left up to the stream's end. */
  async finish(): Promise<void> {
    this.stopping = true;
    await this.loop?.catch(() => {});
    for (;;) {
      const page = (await this.conn.xrange(
        this.keys.shard().outcomes,
        `(${this.lastId}`,
        '+',
        'COUNT',
        5000,
      )) as Array<[string, string[]]>;
      if (!page.length) break;
      this.take(page);
    }
    this.conn.disconnect();
  }
}
