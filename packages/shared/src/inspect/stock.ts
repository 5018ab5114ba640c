/** Every SKU's counters as Redis holds them, and the no-oversell / conservation checks on them. */
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';

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
