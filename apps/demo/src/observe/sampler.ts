/**
 * Sampler: every 250 ms, the series of the report (decisions/s, ledger lag, rows written to
 * MySQL, active holds, stock, the reconciler's last variance); it also keeps every stock row
 * that broke a stock rule (for the no-oversell and conservation checks) and the reconciler's
 * runs (from holdfast:audit).
 */
import { toFields, type Keys, type Redis } from '@holdfast/shared';
import { backlog, groupBacklog, readAllStock, type StockRow } from '@holdfast/shared/inspect';
import { breaksStockRules, type SampledRow } from '../check/stock-rules.js';
import { HOT_SKU } from '../crowd/skus.js';
import type { EventTap } from './event-tap.js';
import { scrapeCounter } from './metrics-scrape.js';
import type { OutcomeTap } from './outcome-tap.js';
import { entriesAdded, idMs } from './stream-info.js';

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

/** One run of the reconciler service (its holdfast:audit entry). */
export interface AuditRun {
  at: number;
  variance: number;
  inFlight: number;
  skus: number;
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

/** What Redis and the services report at one sample. */
interface Reading {
  ledgerLag: number;
  ledgerEntries: number;
  eventBacklog: number;
  activeHolds: number;
  stock: StockRow[];
  ledgerRows: number | null;
}

/** At most this many rule-breaking rows are kept (a broken run would otherwise fill memory). */
const MAX_BREACHES = 100;

/** Takes a sample every `intervalMs`; keeps the series, rule-breaking rows and reconciler runs. */
export class Sampler {
  readonly samples: Sample[] = [];
  readonly audit: AuditRun[] = [];
  /** Stock rows that broke a stock rule in any sample (must stay empty). */
  readonly breaches: SampledRow[] = [];
  /** Samples whose stock was read (each checked for breaches). */
  stockSamples = 0;
  hotSoldOutAt: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private auditCursor = '-';
  private lastRows = 0;
  private readonly history: Array<{ t: number; outcomes: number }> = [];
  private readonly listeners: Array<(s: Sample) => void> = [];

  constructor(
    private readonly src: SamplerSources,
    readonly t0: number,
    readonly intervalMs = 250,
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

  /** Stops the timer and takes a last sample. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
    await this.take().catch(() => {});
  }

  latest(): Sample | undefined {
    return this.samples[this.samples.length - 1];
  }

  async take(): Promise<void> {
    const now = Date.now();
    // The counters of this process first, at `now`; then what Redis and the services report.
    const outcomes = this.src.outcomes;
    const counted = {
      sent: this.src.sent(),
      events: this.src.events.count,
      outcomes: outcomes.count,
      reservesDecided: outcomes.byType.reserve ?? 0,
      expired: outcomes.byType.expire ?? 0,
    };
    const [reading] = await Promise.all([this.read(), this.readAudit()]);
    this.checkStock(reading.stock, now - this.t0);
    const { stock, ...figures } = reading;
    const s: Sample = {
      t: now - this.t0,
      ...counted,
      decisionsPerSec: this.rate(now, counted.outcomes),
      ...figures,
      held: stock.reduce((n, r) => n + r.held, 0),
      sold: stock.reduce((n, r) => n + r.sold, 0),
      hotAvailable: stock.find((r) => r.sku === HOT_SKU)?.available ?? 0,
      variance: this.audit.length ? this.audit[this.audit.length - 1]!.variance : null,
    };
    this.samples.push(s);
    for (const l of this.listeners) l(s);
  }

  private async read(): Promise<Reading> {
    const { redis, keys } = this.src;
    // Every figure of the shards' own streams and holds is summed over the shards.
    const sum = async (f: (shard: string) => Promise<number>) =>
      (await Promise.all(keys.allShards.map(f))).reduce((n, v) => n + v, 0);
    const [ledgerLag, ledgerEntries, eventsBacklog, inBacklog, activeHolds, stock, ledgerRows] =
      await Promise.all([
        sum((s) => backlog(redis, keys.shard(s).ledger)),
        sum((s) => entriesAdded(redis, keys.shard(s).ledger)),
        groupBacklog(redis, keys.streams.events, 'ingest'),
        sum((s) => backlog(redis, keys.shard(s).inbound)),
        sum((s) => redis.zcard(keys.shard(s).holdsDue)),
        readAllStock(redis, keys),
        this.rowsWritten(),
      ]);
    const eventBacklog = eventsBacklog + inBacklog;
    return { ledgerLag, eventBacklog, ledgerEntries, ledgerRows, activeHolds, stock };
  }

  /** The reconciler's runs since the last sample. */
  private async readAudit(): Promise<void> {
    const { redis, keys } = this.src;
    const audit = (await redis.xrange(
      keys.streams.audit,
      this.auditCursor,
      '+',
      'COUNT',
      1000,
    )) as Array<[string, string[]]>;
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
  }

  /** Keeps the rows that break a stock rule; notes when HOT-1 first sold out. */
  private checkStock(stock: StockRow[], atMs: number): void {
    this.stockSamples++;
    for (const row of stock)
      if (breaksStockRules(row) && this.breaches.length < MAX_BREACHES)
        this.breaches.push({ atMs, row });
    const hot = stock.find((r) => r.sku === HOT_SKU);
    if (hot && hot.available === 0 && this.hotSoldOutAt === null && hot.total > 0)
      this.hotSoldOutAt = atMs;
  }

  /** Outcomes per second over the last second. */
  private rate(now: number, outcomes: number): number {
    this.history.push({ t: now, outcomes });
    while (this.history.length > 1 && now - this.history[0]!.t > 1_000) this.history.shift();
    const first = this.history[0]!;
    const span = now - first.t;
    return Math.round(span > 0 ? ((outcomes - first.outcomes) * 1000) / span : 0);
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
