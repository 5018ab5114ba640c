/**
 * The contract's rules for one SKU's counters, on a StockRow (Redis or MySQL), as typed
 * results: what no-oversell and conservation check, what the sampler keeps, and whether
 * MySQL's books equal Redis.
 */
import type { StockRow } from '@holdfast/shared/inspect';
import { skuOrder } from '../crowd/skus.js';

/** How a row breaks "available ≥ 0 and held + sold ≤ total". */
export type OversellBreach =
  | { rule: 'available_negative'; available: number }
  | { rule: 'held_or_sold_negative'; held: number; sold: number }
  | { rule: 'held_and_sold_over_total'; heldAndSold: number; total: number };

/** A stock row the sampler read during the run, `atMs` after the crowd started. */
export interface SampledRow {
  atMs: number;
  row: StockRow;
}

/** The oversell rules a row breaks (none = fine). */
export function oversellBreaches(r: StockRow): OversellBreach[] {
  const out: OversellBreach[] = [];
  if (r.available < 0) out.push({ rule: 'available_negative', available: r.available });
  if (r.held < 0 || r.sold < 0)
    out.push({ rule: 'held_or_sold_negative', held: r.held, sold: r.sold });
  if (r.held + r.sold > r.total)
    out.push({ rule: 'held_and_sold_over_total', heldAndSold: r.held + r.sold, total: r.total });
  return out;
}

export function describeOversell(b: OversellBreach): string {
  switch (b.rule) {
    case 'available_negative':
      return `available ${b.available} < 0`;
    case 'held_or_sold_negative':
      return 'negative held/sold';
    case 'held_and_sold_over_total':
      return `held+sold ${b.heldAndSold} > total ${b.total}`;
  }
}

/** available + held + sold: conservation holds when it equals total. */
export const unitsAccounted = (r: StockRow) => r.available + r.held + r.sold;

export const conserved = (r: StockRow) => unitsAccounted(r) === r.total;

/** True when the row breaks any stock rule (what the sampler keeps for the checks). */
export const breaksStockRules = (r: StockRow) => !conserved(r) || oversellBreaches(r).length > 0;

const COUNTERS = ['total', 'available', 'held', 'sold'] as const;

/** MySQL's row exists and equals Redis' on every counter. */
export function booksMatch(redis: StockRow | undefined, mysql: StockRow | undefined): boolean {
  return !!redis && !!mysql && COUNTERS.every((f) => mysql[f] === redis[f]);
}

/** Every SKU of the run (in Redis, in MySQL or armed), HOT-1 first. */
export function allSkus(
  redisStock: StockRow[],
  mysqlStock: StockRow[],
  armed: Map<string, number>,
): string[] {
  const skus = new Set([...redisStock.map((r) => r.sku), ...mysqlStock.map((r) => r.sku)]);
  for (const sku of armed.keys()) skus.add(sku);
  return [...skus].sort(skuOrder);
}
