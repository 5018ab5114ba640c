/**
 * The promo: HOT-1 (limit 2) and WARM-1..N (limit 5), armed through the operators' public
 * stream (inventory:admin), and how the demo knows the reserver applied it.
 */
import type { Redis } from '@holdfast/shared';
import { xaddMany, type Fields } from '@holdfast/shared/inspect';
import { HOT_SKU, warmSku } from '../crowd/skus.js';
import type { DemoOptions } from '../options.js';
import type { DemoTarget } from './target.js';

export interface AdminEntry {
  type: 'restock' | 'set_limit';
  event_id: string;
  sku: string;
  qty?: string;
  per_user?: string;
}

/** The promo as public admin entries: a restock and a set_limit per SKU. */
export function promoEntries(o: DemoOptions, stamp: string): AdminEntry[] {
  const out: AdminEntry[] = [];
  const add = (sku: string, qty: number, limit: number) => {
    out.push({ type: 'restock', event_id: `demo-${stamp}-restock-${sku}`, sku, qty: String(qty) });
    out.push({
      type: 'set_limit',
      event_id: `demo-${stamp}-limit-${sku}`,
      sku,
      per_user: String(limit),
    });
  };
  add(HOT_SKU, o.hotUnits, 2);
  for (let n = 1; n <= o.warmSkus; n++) add(warmSku(n), o.warmUnits, 5);
  return out;
}

/** Admin entries sent, by kind (the ledger changes they must become). */
export function adminByKind(entries: AdminEntry[]): Record<string, number> {
  const byKind: Record<string, number> = {};
  for (const e of entries) byKind[e.type] = (byKind[e.type] ?? 0) + 1;
  return byKind;
}

/** Units armed per SKU (every SKU's total must end equal to this). */
export function armedUnits(entries: AdminEntry[]): Map<string, number> {
  const armed = new Map<string, number>();
  for (const e of entries)
    if (e.type === 'restock') armed.set(e.sku, (armed.get(e.sku) ?? 0) + Number(e.qty));
  return armed;
}

/** XADDs the promo to inventory:admin (the operators' public stream). */
export async function armPromo(redis: Redis, t: DemoTarget, entries: AdminEntry[]): Promise<void> {
  // Every field promoEntries sets is a string (no optional field is left undefined).
  await xaddMany(redis, t.keys.streams.admin, entries as unknown as Fields[]);
}

/**
 * True once the reserver applied every admin entry (its admin dedupe key, on the SKU's shard,
 * reads 'd'). One MGET per shard: on a Redis Cluster each shard is its own slot.
 */
export async function promoApplied(
  redis: Redis,
  t: DemoTarget,
  entries: AdminEntry[],
  shardOf: ReadonlyMap<string, string>,
): Promise<boolean> {
  const byShard = new Map<string, string[]>();
  for (const e of entries) {
    const shard = shardOf.get(e.sku) ?? t.keys.defaultShard;
    const list = byShard.get(shard) ?? [];
    list.push(t.keys.shard(shard).adminEvent(e.event_id));
    byShard.set(shard, list);
  }
  for (const marks of byShard.values())
    if (!(await redis.mget(...marks)).every((m) => m === 'd')) return false;
  return true;
}

/**
 * Where each SKU of the promo goes: HOT-1 on the first shard, WARM-n on shard n mod N — so every
 * shard gets SKUs (the placement function alone could leave one empty with few warm SKUs).
 */
export function promoPlacement(o: DemoOptions, shards: readonly string[]): Map<string, string> {
  const out = new Map<string, string>([[HOT_SKU, shards[0]!]]);
  for (let n = 1; n <= o.warmSkus; n++) out.set(warmSku(n), shards[n % shards.length]!);
  return out;
}

/** Admin `place` entries for the placement (contract v2), sent before any restock. */
export function placeEntries(placement: ReadonlyMap<string, string>, stamp: string): Fields[] {
  return [...placement].map(([sku, shard]) => ({
    type: 'place',
    event_id: `demo-${stamp}-place-${sku}`,
    sku,
    shard,
  }));
}

/** True once every SKU's placement is recorded in holdfast:placement as asked. */
export async function placementRecorded(
  redis: Redis,
  t: DemoTarget,
  placement: ReadonlyMap<string, string>,
): Promise<boolean> {
  const skus = [...placement.keys()];
  const got = await redis.hmget(t.keys.streams.placement, ...skus);
  return skus.every((sku, i) => got[i] === placement.get(sku));
}
