/** Arming SKUs and the end-of-run invariant checks on Redis (A and C). */
import { Gate, type Keys, type Redis } from '@holdfast/shared';
import { readAllStock, stockViolations, type StockRow } from '@holdfast/shared/inspect';
import { defaultGateConfig } from './infra.js';

/**
 * Creates every SKU with its stock (the reserver's restock script, pipelined). On more than one
 * shard each SKU goes where the placement function puts it, and its placement is recorded
 * first, as the reserver does for a restock (holdfast:placement; ingest then routes by it).
 * One pipeline per shard: on a Redis Cluster a pipeline stays within one slot's node.
 */
export async function armStock(
  redis: Redis,
  keys: Keys,
  stock: ReadonlyArray<readonly [string, number]>,
  tag: string,
): Promise<void> {
  const byShard = new Map<string, Array<readonly [string, number]>>();
  for (const line of stock) {
    const shard = keys.allShards.length > 1 ? keys.defaultShardOf(line[0]) : keys.defaultShard;
    byShard.set(shard, [...(byShard.get(shard) ?? []), line]);
  }
  if (keys.allShards.length > 1) {
    for (let i = 0; i < stock.length; i += 1000) {
      const p = redis.pipeline();
      for (const [sku] of stock.slice(i, i + 1000))
        p.hsetnx(keys.streams.placement, sku, keys.defaultShardOf(sku));
      await p.exec();
    }
  }
  for (const [shard, lines] of byShard) {
    const gate = new Gate(keys, defaultGateConfig(), shard);
    for (let i = 0; i < lines.length; i += 1000) {
      const p = redis.pipeline();
      for (const [sku, units] of lines.slice(i, i + 1000)) {
        gate.queueAdmin(p, { type: 'restock', eventId: `${tag}-arm-${sku}`, sku, qty: units });
      }
      const res = (await p.exec()) ?? [];
      for (const [err] of res) if (err) throw err;
    }
  }
}

export interface StockCheck {
  oversells: number;
  oversoldUnits: number;
  violations: string[];
  rows: StockRow[];
}

/**
 * Invariants 1 and 2 on every SKU's counters, plus: the SKUs are exactly the armed ones, each
 * total is its initial stock, and the units held equal the units the accepted decisions took
 * (no confirms or cancels are sent, so every accepted unit is held).
 */
export async function checkRedisStock(
  redis: Redis,
  keys: Keys,
  stock: ReadonlyArray<readonly [string, number]>,
  heldBySku: Map<string, number>,
): Promise<StockCheck> {
  const rows = await readAllStock(redis, keys);
  const violations = stockViolations(rows);
  let oversells = 0;
  let oversoldUnits = 0;
  for (const r of rows) {
    const over = Math.max(0, r.held + r.sold - r.total, -r.available);
    if (over > 0 || r.available < 0) {
      oversells++;
      oversoldUnits += over;
    }
  }
  const initial = new Map(stock);
  if (rows.length !== initial.size)
    violations.push(`${rows.length} SKUs in Redis, expected ${initial.size}`);
  for (const r of rows) {
    const want = initial.get(r.sku);
    if (want === undefined) violations.push(`${r.sku}: not a SKU of the scenario`);
    else if (r.total !== want) violations.push(`${r.sku}: total ${r.total} ≠ armed ${want}`);
    const taken = heldBySku.get(r.sku) ?? 0;
    if (r.held !== taken)
      violations.push(`${r.sku}: held ${r.held} ≠ units of accepted decisions ${taken}`);
  }
  return { oversells, oversoldUnits, violations, rows };
}

export function addUnits(
  m: Map<string, number>,
  lines: ReadonlyArray<readonly [string, number]>,
): number {
  let n = 0;
  for (const [sku, qty] of lines) {
    m.set(sku, (m.get(sku) ?? 0) + qty);
    n += qty;
  }
  return n;
}
