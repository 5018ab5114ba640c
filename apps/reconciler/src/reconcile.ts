/**
 * One reconciliation: proves Redis and MySQL agree, per SKU, with the ledger entries still in
 * flight accounted for — so a healthy fleet under full load reports 0, and a drift shows as
 * exactly its size.
 *
 * Why it is exact (see docs/reconciliation.md):
 *   1. snapshot-3.lua reads every SKU's counters R and the ledger stream's last id L in one
 *      atomic call; R is exactly the sum of the ledger entries with id ≤ L.
 *   2. Entries below the ledger group's oldest unacked id P are acked, hence committed.
 *      Entries in [P, L] (read from the stream) may or may not be committed yet.
 *   3. One MySQL transaction (consistent snapshot) reads the books M, which of the [P, L]
 *      entries are committed, and the sum of committed rows with id > L (applied after the
 *      Redis snapshot).
 *   Expected books at L:  M − committed(id > L) + uncommitted(P ≤ id ≤ L).  Variance = R − that.
 */
import { cmpId, type Keys, runScript, safeTrimPoint, toFields, type Redis } from '@holdfast/shared';
import type { Pool, RowDataPacket } from '@holdfast/shared/mysql';

export type Counters = [total: number, available: number, held: number, sold: number];
export const FIELDS = ['total', 'available', 'held', 'sold'] as const;

export interface SkuVariance {
  sku: string;
  redis: Counters;
  mysql: Counters;
  /** Changes in flight (in the stream, not yet committed) — counted as if committed. */
  inFlight: Counters;
  /** redis − (mysql + in flight − committed after the snapshot), per field. */
  diff: Counters;
  /**
   * What the gauge shows: the difference in `available` (the units that can still be sold,
   * where a drift turns into oversell or lost sales); when `available` agrees but another
   * counter does not, that counter's difference (largest magnitude, signed).
   */
  variance: number;
}

export interface ReconcileReport {
  shard: string;
  at: number;
  lastLedgerId: string;
  skus: number;
  inFlightEntries: number;
  committedAfterSnapshot: number;
  /** SKUs whose variance is not 0. */
  variances: SkuVariance[];
  /** Sum of |variance| over SKUs. */
  totalAbsVariance: number;
  durationMs: number;
}

function add(m: Map<string, Counters>, sku: string, d: Counters, sign = 1): void {
  const c = m.get(sku) ?? [0, 0, 0, 0];
  m.set(sku, [c[0] + sign * d[0], c[1] + sign * d[1], c[2] + sign * d[2], c[3] + sign * d[3]]);
}

interface StreamChange {
  changeId: string;
  lines: Array<[string, ...Counters]>;
}

async function readRange(
  redis: Redis,
  stream: string,
  from: string,
  to: string,
): Promise<StreamChange[]> {
  const out: StreamChange[] = [];
  let start = from;
  for (;;) {
    const page = (await redis.xrange(stream, start, to, 'COUNT', 2000)) as Array<
      [string, string[]]
    >;
    for (const [, f] of page) {
      const e = toFields(f);
      try {
        out.push({ changeId: e.change_id!, lines: JSON.parse(e.lines!) as StreamChange['lines'] });
      } catch {
        // An unparseable ledger entry is dead-lettered by the writer and never applied: it
        // has no effect on MySQL, and none is counted here.
      }
    }
    if (page.length < 2000) return out;
    start = `(${page[page.length - 1]![0]}`;
  }
}

/**
 * Which shard each SKU of the books belongs to: its recorded placement, else the placement
 * function's (a SKU MySQL knows but Redis lost entirely still has a shard to be reported on).
 */
export async function shardOfBooks(redis: Redis, keys: Keys): Promise<(sku: string) => string> {
  if (keys.allShards.length === 1) return () => keys.defaultShard;
  const placed = new Map(Object.entries(await redis.hgetall(keys.streams.placement)));
  return (sku) => placed.get(sku) ?? keys.defaultShardOf(sku);
}

export async function reconcileShard(
  redis: Redis,
  pool: Pool,
  keys: Keys,
  shard: string,
  shardOf?: (sku: string) => string,
): Promise<ReconcileReport> {
  const owner = shardOf ?? (await shardOfBooks(redis, keys));
  const t0 = Date.now();
  const sk = keys.shard(shard);
  // 1. Redis snapshot.
  const snap = (await runScript<string[]>(redis, 'snapshot', [sk.skus, sk.ledger, sk.prefix], []))!;
  const lastId = snap[0]!;
  const red = new Map<string, Counters>();
  for (let i = 1; i + 4 < snap.length + 1; i += 5) {
    red.set(snap[i]!, [
      Number(snap[i + 1]),
      Number(snap[i + 2]),
      Number(snap[i + 3]),
      Number(snap[i + 4]),
    ]);
  }
  // 2. Entries that may not be committed yet.
  const from = (await safeTrimPoint(redis, sk.ledger)) ?? '-';
  const candidates =
    lastId === '0-0' || (from !== '-' && cmpId(from, lastId) > 0)
      ? []
      : await readRange(redis, sk.ledger, from, lastId);
  const [lastMs, lastSeq] = lastId.split('-') as [string, string];

  // 3. MySQL at one consistent point.
  const conn = await pool.getConnection();
  const books = new Map<string, Counters>();
  const after = new Map<string, Counters>();
  const committed = new Set<string>();
  let committedAfter = 0;
  try {
    await conn.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const [stock] = await conn.query<RowDataPacket[]>(
      'SELECT sku, total, available, held, sold FROM inventory_stock',
    );
    for (const r of stock) {
      // One MySQL holds every shard's books: this shard answers for its own SKUs only.
      if (owner(String(r.sku)) !== shard) continue;
      books.set(String(r.sku), [
        Number(r.total),
        Number(r.available),
        Number(r.held),
        Number(r.sold),
      ]);
    }
    const ids = [...new Set(candidates.map((c) => c.changeId))];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT DISTINCT change_id FROM inventory_ledger WHERE change_id IN (${chunk.map(() => '?').join(',')})`,
        chunk,
      );
      for (const r of rows) committed.add(String(r.change_id));
    }
    const [afterRows] = await conn.query<RowDataPacket[]>(
      `SELECT sku, SUM(d_total) t, SUM(d_available) a, SUM(d_held) h, SUM(d_sold) s, COUNT(DISTINCT change_id) n
         FROM inventory_ledger
        WHERE shard = ? AND (stream_ms > ? OR (stream_ms = ? AND stream_seq > ?))
        GROUP BY sku`,
      [shard, lastMs, lastMs, lastSeq],
    );
    for (const r of afterRows) {
      after.set(String(r.sku), [Number(r.t), Number(r.a), Number(r.h), Number(r.s)]);
      committedAfter += Number(r.n);
    }
    await conn.query('COMMIT');
  } finally {
    conn.release();
  }

  const inFlight = new Map<string, Counters>();
  let inFlightEntries = 0;
  const counted = new Set<string>();
  for (const c of candidates) {
    if (committed.has(c.changeId) || counted.has(c.changeId)) continue;
    counted.add(c.changeId);
    inFlightEntries++;
    for (const [sku, ...d] of c.lines) add(inFlight, sku, d as Counters);
  }

  const variances: SkuVariance[] = [];
  let totalAbs = 0;
  const allSkus = new Set([...red.keys(), ...books.keys(), ...inFlight.keys()]);
  for (const sku of [...allSkus].sort()) {
    const r = red.get(sku) ?? [0, 0, 0, 0];
    const m = books.get(sku) ?? [0, 0, 0, 0];
    const f = inFlight.get(sku) ?? [0, 0, 0, 0];
    const a = after.get(sku) ?? [0, 0, 0, 0];
    const diff = r.map((v, i) => v - (m[i]! + f[i]! - a[i]!)) as Counters;
    let variance = diff[1];
    if (variance === 0) for (const d of diff) if (Math.abs(d) > Math.abs(variance)) variance = d;
    if (variance !== 0) {
      variances.push({ sku, redis: r, mysql: m, inFlight: f, diff, variance });
      totalAbs += Math.abs(variance);
    }
  }
  return {
    shard,
    at: t0,
    lastLedgerId: lastId,
    skus: allSkus.size,
    inFlightEntries,
    committedAfterSnapshot: committedAfter,
    variances,
    totalAbsVariance: totalAbs,
    durationMs: Date.now() - t0,
  };
}

export async function reconcileAll(
  redis: Redis,
  pool: Pool,
  keys: Keys,
): Promise<ReconcileReport[]> {
  const out: ReconcileReport[] = [];
  const owner = await shardOfBooks(redis, keys);
  for (const shard of keys.allShards)
    out.push(await reconcileShard(redis, pool, keys, shard, owner));
  return out;
}
