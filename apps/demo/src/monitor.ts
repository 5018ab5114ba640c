/**
 * What the demo watches while the crowd runs, without taking part in the pipeline:
 *
 *  - EventTap: a consumer group of its own on checkout:events (`demo-latency`, XREADGROUP
 *    NOACK) records each event_id's entry id, i.e. the time Redis accepted the XADD. Because
 *    the services trim a stream only below the oldest entry *every* group still needs
 *    (safeTrimPoint), no entry is trimmed before this tap has read it.
 *  - OutcomeTap: reads checkout:outcomes from its first entry (plain XREAD, no group): one
 *    record per outcome, for the counts, the decision latency and the effectively-once check.
 *  - Sampler: every 250 ms, the series of the report (decisions/s, ledger lag, rows written to
 *    MySQL, active holds, stock, the reconciler's last variance).
 */
import { createRedis, toFields, type Keys, type Redis } from '@holdfast/shared';
import { backlog, readAllStock, stockViolations, type StockRow } from '@holdfast/shared/inspect';
import { HOT_SKU } from './crowd.js';

export const TAP_GROUP = 'demo-latency';

type XReadReply = Array<[string, Array<[string, string[] | null]>]> | null;

const idMs = (id: string) => Number(id.slice(0, id.indexOf('-')));

/** Records the XADD time (entry id ms) of every checkout:events entry, by event_id. */
export class EventTap {
  readonly xaddMs = new Map<string, number>();
  count = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly conn: Redis;

  constructor(
    redisUrl: string,
    private readonly keys: Keys,
  ) {
    this.conn = createRedis(redisUrl, { name: 'holdfast-demo-event-tap', blocking: true });
  }

  /** Creates the group at the stream's current end (the demo namespace is empty anyway). */
  async start(): Promise<void> {
    await this.conn
      .xgroup('CREATE', this.keys.streams.events, TAP_GROUP, '$', 'MKSTREAM')
      .catch((err: Error) => {
        if (!/BUSYGROUP/.test(err.message)) throw err;
      });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const res = (await retrying(() =>
        this.conn.xreadgroup(
          'GROUP',
          TAP_GROUP,
          'tap',
          'COUNT',
          5000,
          'BLOCK',
          200,
          'NOACK',
          'STREAMS',
          this.keys.streams.events,
          '>',
        ),
      )) as XReadReply;
      if (!res) continue;
      for (const [id, flat] of res[0]![1]) {
        this.count++;
        if (!flat) continue;
        for (let i = 0; i + 1 < flat.length; i += 2) {
          if (flat[i] === 'event_id') {
            // The first XADD of an event_id is the one that counts (a duplicate changes nothing).
            if (!this.xaddMs.has(flat[i + 1]!)) this.xaddMs.set(flat[i + 1]!, idMs(id));
            break;
          }
        }
      }
    }
  }

  /** Undelivered entries of the tap's group (0 = it has seen everything XADDed so far). */
  async lag(redis: Redis): Promise<number> {
    const groups = (await redis.xinfo('GROUPS', this.keys.streams.events)) as unknown[][];
    for (const g of groups) {
      const o = toFields(g.map((v) => (v === null ? '' : String(v))));
      if (o.name === TAP_GROUP) return Number(o.lag || 0);
    }
    return 0;
  }

  /** Stops reading and removes the group (so it does not pin the stream afterwards). */
  async stop(removeGroup = true): Promise<void> {
    this.stopping = true;
    await this.loop?.catch(() => {});
    if (removeGroup)
      await this.conn.xgroup('DESTROY', this.keys.streams.events, TAP_GROUP).catch(() => {});
    this.conn.disconnect();
  }
}

export interface OutcomeRecord {
  type: string;
  status: string;
  reason: string | undefined;
  checkoutId: string;
  at: number;
  expiresAt: number | undefined;
}

/** Reads every outcome of the namespace, in order. */
export class OutcomeTap {
  /** event_id → its first outcome. */
  readonly byEvent = new Map<string, OutcomeRecord>();
  /** event_ids that got more than one outcome (must stay empty). */
  readonly repeated: string[] = [];
  readonly byStatus: Record<string, number> = {};
  readonly byType: Record<string, number> = {};
  count = 0;
  firstAt = 0;
  lastAt = 0;
  lastId = '0-0';
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
          this.keys.streams.outcomes,
          this.lastId,
        ),
      )) as XReadReply;
      if (res) this.take(res[0]![1]);
    }
  }

  private take(entries: Array<[string, string[] | null]>): void {
    for (const [id, flat] of entries) {
      this.lastId = id;
      if (!flat) continue;
      const f = toFields(flat);
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
      if (!this.firstAt) this.firstAt = rec.at;
      if (rec.at > this.lastAt) this.lastAt = rec.at;
      const key = rec.reason ? `${rec.status}:${rec.reason}` : rec.status;
      this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
      this.byType[rec.type] = (this.byType[rec.type] ?? 0) + 1;
      if (this.byEvent.has(ev)) this.repeated.push(ev);
      else this.byEvent.set(ev, rec);
    }
  }

  /** Stops the live loop, then reads whatever is left up to the stream's end. */
  async finish(): Promise<void> {
    this.stopping = true;
    await this.loop?.catch(() => {});
    for (;;) {
      const page = (await this.conn.xrange(
        this.keys.streams.outcomes,
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

export interface Sample {
  /** ms since the crowd started. */
  t: number;
  /** Reserves XADDed so far (the crowd's buyers). */
  sent: number;
  /** checkout:events entries seen (reserves + confirms + cancels). */
  events: number;
  /** Outcomes so far (every decision, expiries included). */
  outcomes: number;
  /** Reserve outcomes so far (each buyer's first decision). */
  reservesDecided: number;
  /** Expiry outcomes so far. */
  expired: number;
  /** Outcomes per second over the last second. */
  decisionsPerSec: number;
  /** Ledger stream: lag + pending of the ledger-writer group (entries not yet in MySQL). */
  ledgerLag: number;
  /** checkout:events + internal stream backlog (events not yet decided). */
  eventBacklog: number;
  /** State changes appended to the ledger stream so far (XINFO STREAM entries-added). */
  ledgerEntries: number;
  /** Ledger rows committed to MySQL (holdfast_ledger_rows_written_total over writers). */
  ledgerRows: number | null;
  /** Active holds (entries of holds:due). */
  activeHolds: number;
  /** Sum over SKUs of held / sold units in Redis. */
  held: number;
  sold: number;
  hotAvailable: number;
  /** Total variance of the reconciler's most recent run (null before its first run). */
  variance: number | null;
}

export interface AuditRun {
  at: number;
  variance: number;
  inFlight: number;
  skus: number;
}

/** Sum of one counter over a service's /metrics (undefined if unreachable or absent). */
export async function scrapeCounter(port: number, name: string): Promise<number | undefined> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 1_000);
  try {
    const body = await (
      await fetch(`http://127.0.0.1:${port}/metrics`, { signal: ctl.signal })
    ).text();
    let sum: number | undefined;
    for (const line of body.split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)/.exec(line);
      if (m && m[1] === name) sum = (sum ?? 0) + Number(m[3]);
    }
    return sum;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

export interface SamplerSources {
  redis: Redis;
  keys: Keys;
  outcomes: OutcomeTap;
  events: EventTap;
  sent: () => number;
  /** Metrics ports of the running ledger-writers. */
  ledgerWriterPorts: () => number[];
}

/** Takes a sample every `intervalMs`; keeps the series, stock violations and reconciler runs. */
export class Sampler {
  readonly samples: Sample[] = [];
  readonly audit: AuditRun[] = [];
  /** Stock invariant violations seen in any sample (must stay empty). */
  readonly violations: string[] = [];
  stockSamples = 0;
  hotSoldOutAt: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private auditCursor = '-';
  private lastRows = 0;
  private readonly history: Array<{ t: number; outcomes: number }> = [];
  private listeners: Array<(s: Sample) => void> = [];
  lastStock: StockRow[] = [];

  constructor(
    private readonly src: SamplerSources,
    readonly t0: number,
    private readonly intervalMs = 250,
  ) {}

  onSample(fn: (s: Sample) => void): void {
    this.listeners.push(fn);
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return; // a slow sample: skip a tick rather than pile up
      this.busy = this.take()
        .catch(() => {})
        .finally(() => (this.busy = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
    await this.take().catch(() => {});
  }

  latest(): Sample | undefined {
    return this.samples[this.samples.length - 1];
  }

  async take(): Promise<void> {
    const { redis, keys } = this.src;
    const sk = keys.shard();
    const now = Date.now();
    // The counters of this process first, at `now`; then what Redis and the services report.
    const sent = this.src.sent();
    const events = this.src.events.count;
    const outcomes = this.src.outcomes.count;
    const reservesDecided = this.src.outcomes.byType.reserve ?? 0;
    const expired = this.src.outcomes.byType.expire ?? 0;
    const [ledgerLag, ledgerEntries, eventsBacklog, inBacklog, activeHolds, stock, audit, rows] =
      await Promise.all([
        backlog(redis, sk.ledger),
        entriesAdded(redis, sk.ledger),
        groupBacklog(redis, keys.streams.events, 'ingest'),
        backlog(redis, sk.inbound),
        redis.zcard(sk.holdsDue),
        readAllStock(redis, keys),
        redis.xrange(keys.streams.audit, this.auditCursor, '+', 'COUNT', 1000) as Promise<
          Array<[string, string[]]>
        >,
        this.rowsWritten(),
      ]);
    for (const [id, flat] of audit) {
      this.auditCursor = `(${id}`;
      const f = toFields(flat);
      this.audit.push({
        at: Number(f.at ?? idMs(id)),
        variance: Number(f.variance_total ?? 0),
        inFlight: Number(f.in_flight ?? 0),
        skus: Number(f.skus ?? 0),
      });
    }
    this.stockSamples++;
    this.lastStock = stock;
    for (const v of stockViolations(stock))
      if (this.violations.length < 100) this.violations.push(`at +${now - this.t0} ms: ${v}`);
    const hot = stock.find((r) => r.sku === HOT_SKU);
    if (hot && hot.available === 0 && this.hotSoldOutAt === null && hot.total > 0)
      this.hotSoldOutAt = now - this.t0;

    this.history.push({ t: now, outcomes });
    while (this.history.length > 1 && now - this.history[0]!.t > 1_000) this.history.shift();
    const first = this.history[0]!;
    const span = now - first.t;
    const rate = span > 0 ? ((outcomes - first.outcomes) * 1000) / span : 0;
    const s: Sample = {
      t: now - this.t0,
      sent,
      events,
      outcomes,
      reservesDecided,
      expired,
      decisionsPerSec: Math.round(rate),
      ledgerLag,
      ledgerEntries,
      eventBacklog: eventsBacklog + inBacklog,
      ledgerRows: rows,
      activeHolds,
      held: stock.reduce((n, r) => n + r.held, 0),
      sold: stock.reduce((n, r) => n + r.sold, 0),
      hotAvailable: hot?.available ?? 0,
      variance: this.audit.length ? this.audit[this.audit.length - 1]!.variance : null,
    };
    this.samples.push(s);
    for (const l of this.listeners) l(s);
  }

  private async rowsWritten(): Promise<number | null> {
    const ports = this.src.ledgerWriterPorts();
    if (!ports.length) return this.lastRows || null;
    const vals = await Promise.all(
      ports.map((p) => scrapeCounter(p, 'holdfast_ledger_rows_written_total')),
    );
    if (vals.some((v) => v === undefined)) return this.lastRows || null;
    // A restarted writer starts its counter again at 0: never let the series go backwards.
    this.lastRows = Math.max(
      this.lastRows,
      vals.reduce<number>((n, v) => n + (v ?? 0), 0),
    );
    return this.lastRows;
  }
}

/** Lag + pending of one group of a stream (0 when the stream or group does not exist yet). */
export async function groupBacklog(redis: Redis, stream: string, group: string): Promise<number> {
  const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  for (const g of groups) {
    const o = toFields(g.map((v) => (v === null ? '' : String(v))));
    if (o.name === group) return Number(o.pending ?? 0) + Number(o.lag || 0);
  }
  return 0;
}

/** Entries ever added to a stream (trimming does not lower it; 0 when it does not exist). */
export async function entriesAdded(redis: Redis, stream: string): Promise<number> {
  const info = (await redis.xinfo('STREAM', stream).catch(() => null)) as unknown[] | null;
  if (!info) return 0;
  for (let i = 0; i + 1 < info.length; i += 2)
    if (info[i] === 'entries-added') return Number(info[i + 1]);
  return Number(await redis.xlen(stream));
}

/** Runs a read, retrying a failed one after a pause (Redis restarting must not kill a tap). */
async function retrying<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch {
    await new Promise((r) => setTimeout(r, 200));
    return null;
  }
}
