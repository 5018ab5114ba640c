/**
 * Independent checks of what users care about, read straight from Redis: outcomes per
 * event_id, ledger entries per change, stock invariants. Used by end-to-end tests and the demo.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { toFields, toObject } from '../stream-worker.js';

export type Fields = Record<string, string>;

export { toFields };

/** Every entry of a stream, oldest first, read in pages. */
export async function readStream(
  redis: Redis,
  stream: string,
): Promise<Array<{ id: string } & Fields>> {
  const out: Array<{ id: string } & Fields> = [];
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(stream, start, '+', 'COUNT', 5000)) as Array<
      [string, string[]]
    >;
    for (const [id, f] of page) out.push({ id, ...toFields(f) });
    if (page.length < 5000) return out;
    start = `(${page[page.length - 1]![0]}`;
  }
}

/** XADDs many entries in pipelined chunks; returns their ids. */
export async function xaddMany(redis: Redis, stream: string, entries: Fields[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < entries.length; i += 1000) {
    const p = redis.pipeline();
    for (const e of entries.slice(i, i + 1000)) p.xadd(stream, '*', ...Object.entries(e).flat());
    const res = (await p.exec()) ?? [];
    for (const [err, id] of res) {
      if (err) throw err;
      ids.push(id as string);
    }
  }
  return ids;
}

export interface StockRow {
  sku: string;
  total: number;
  available: number;
  held: number;
  sold: number;
}

export async function readAllStock(redis: Redis, keys: Keys): Promise<StockRow[]> {
  const rows: StockRow[] = [];
  for (const shard of keys.allShards) {
    const sk = keys.shard(shard);
    const skus = (await redis.smembers(sk.skus)).sort();
    const p = redis.pipeline();
    for (const sku of skus) p.hmget(sk.stock(sku), 'total', 'available', 'held', 'sold');
    const res = (await p.exec()) ?? [];
    skus.forEach((sku, i) => {
      const v = (res[i]![1] as string[]).map(Number) as [number, number, number, number];
      rows.push({ sku, total: v[0], available: v[1], held: v[2], sold: v[3] });
    });
  }
  return rows;
}

/** Invariants 1 and 2 of the contract; returns human-readable violations (empty = fine). */
export function stockViolations(rows: StockRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.available < 0) out.push(`${r.sku}: available ${r.available} < 0`);
    if (r.held + r.sold > r.total)
      out.push(`${r.sku}: held+sold ${r.held + r.sold} > total ${r.total}`);
    if (r.available + r.held + r.sold !== r.total) {
      out.push(`${r.sku}: available+held+sold ${r.available + r.held + r.sold} ≠ total ${r.total}`);
    }
  }
  return out;
}

/** Outcomes grouped by event_id (a correct fleet has exactly one per accepted event). */
export async function outcomesByEvent(redis: Redis, keys: Keys): Promise<Map<string, Fields[]>> {
  const m = new Map<string, Fields[]>();
  for (const o of await readStream(redis, keys.streams.outcomes)) {
    const list = m.get(o.event_id!) ?? [];
    list.push(o);
    m.set(o.event_id!, list);
  }
  return m;
}

/** Sum of ledger deltas per SKU, and any change_id appended more than once. */
export async function ledgerSummary(redis: Redis, keys: Keys) {
  const perSku = new Map<string, [number, number, number, number]>();
  const seen = new Set<string>();
  const doubled: string[] = [];
  let entries = 0;
  for (const e of await readStream(redis, keys.shard().ledger)) {
    entries++;
    if (seen.has(e.change_id!)) doubled.push(e.change_id!);
    seen.add(e.change_id!);
    for (const [sku, dt, da, dh, ds] of JSON.parse(e.lines!) as Array<
      [string, number, number, number, number]
    >) {
      const s = perSku.get(sku) ?? [0, 0, 0, 0];
      perSku.set(sku, [s[0] + dt, s[1] + da, s[2] + dh, s[3] + ds]);
    }
  }
  return { perSku, doubled, entries };
}

/** Group pending + lag of a stream's groups (0 when drained). */
export async function backlog(redis: Redis, stream: string): Promise<number> {
  const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  let n = 0;
  for (const g of groups) {
    const info = toObject(g);
    n += Number(info.pending ?? 0) + Number(info.lag ?? 0);
  }
  return n;
}

/** Every stream of the pipeline drained: nothing pending, nothing undelivered. */
export async function drained(redis: Redis, keys: Keys): Promise<boolean> {
  const sk = keys.shard();
  for (const s of [keys.streams.events, keys.streams.admin, sk.inbound, sk.ledger]) {
    if ((await backlog(redis, s)) > 0) return false;
  }
  return true;
}

export async function readMysqlStock(mysqlUrl: string): Promise<StockRow[]> {
  const { createConnection } = await import('mysql2/promise');
  const c = await createConnection(mysqlUrl);
  try {
    const [rows] = await c.query(
      'SELECT sku, total, available, held, sold FROM inventory_stock ORDER BY sku',
    );
    return (rows as Array<Record<string, unknown>>).map((r) => ({
      sku: String(r.sku),
      total: Number(r.total),
      available: Number(r.available),
      held: Number(r.held),
      sold: Number(r.sold),
    }));
  } finally {
    await c.end();
  }
}

/** SKUs whose MySQL row differs from Redis (empty = the books agree). */
export function booksMismatch(redisRows: StockRow[], mysqlRows: StockRow[]): string[] {
  const m = new Map(mysqlRows.map((r) => [r.sku, r]));
  const out: string[] = [];
  for (const r of redisRows) {
    const b = m.get(r.sku);
    if (
      !b ||
      b.total !== r.total ||
      b.available !== r.available ||
      b.held !== r.held ||
      b.sold !== r.sold
    ) {
      out.push(`${r.sku}: redis ${JSON.stringify(r)} mysql ${JSON.stringify(b ?? null)}`);
    }
    m.delete(r.sku);
  }
  for (const b of m.values()) out.push(`${b.sku}: only in mysql ${JSON.stringify(b)}`);
  return out;
}

/** Ledger rows in MySQL: total, distinct changes, and any (change, sku) written twice. */
export async function mysqlLedgerCounts(mysqlUrl: string) {
  const { createConnection } = await import('mysql2/promise');
  const c = await createConnection(mysqlUrl);
  try {
    const [[row]] = (await c.query(
      'SELECT COUNT(*) n, COUNT(DISTINCT change_id) changes FROM inventory_ledger',
    )) as unknown as [[{ n: number; changes: number }]];
    const [byKind] = await c.query(
      'SELECT kind, COUNT(DISTINCT change_id) n FROM inventory_ledger GROUP BY kind',
    );
    return {
      rows: Number(row.n),
      changes: Number(row.changes),
      byKind: Object.fromEntries(
        (byKind as Array<{ kind: string; n: number }>).map((k) => [k.kind, Number(k.n)]),
      ),
    };
  } finally {
    await c.end();
  }
}
