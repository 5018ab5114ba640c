/**
 * Stock counters read straight from Redis, with every field checked to be an integer, and the
 * conservation invariants asserted per SKU (contract invariants 1 and 2).
 */
import { expect } from 'vitest';
import type { Redis } from 'ioredis';
import type { Keys } from '@holdfast/shared';

export interface Counters {
  total: number;
  available: number;
  held: number;
  sold: number;
  perUser: number;
}
export type StockMap = Map<string, Counters>;
/** One ledger delta: [sku, d_total, d_available, d_held, d_sold]. */
export type Delta = [string, number, number, number, number];

export const ZERO: Readonly<Counters> = Object.freeze({
  total: 0,
  available: 0,
  held: 0,
  sold: 0,
  perUser: 0,
});

/** An integer field of a Redis hash (asserted present and integral). */
export function int(v: string | undefined, what: string): number {
  expect(v, `${what} is present`).toBeDefined();
  expect(v, `${what} is an integer`).toMatch(/^-?\d+$/);
  return Number(v);
}

/**
 * Every SKU of the default shard (its `skus` set, sorted) with all five counters, each asserted
 * to be an integer — stricter than `readAllStock` of @holdfast/shared/inspect, which the services'
 * tests use to read what a deployment holds.
 */
export async function readShardCounters(r: Redis, keys: Keys): Promise<StockMap> {
  const sk = keys.shard();
  const skus = (await r.smembers(sk.skus)).sort();
  const p = r.pipeline();
  for (const s of skus) p.hgetall(sk.stock(s));
  const res = (await p.exec()) ?? [];
  const out: StockMap = new Map();
  skus.forEach((s, i) => {
    const [err, h] = res[i]!;
    if (err) throw err;
    const o = h as Record<string, string>;
    out.set(s, {
      total: int(o.total, `${s}.total`),
      available: int(o.available, `${s}.available`),
      held: int(o.held, `${s}.held`),
      sold: int(o.sold, `${s}.sold`),
      perUser: int(o.per_user, `${s}.per_user`),
    });
  });
  return out;
}

/** Invariants 1 and 2 for every SKU. */
export function assertConservation(stock: StockMap, ctx = ''): void {
  for (const [sku, c] of stock) {
    const where = `${ctx} [${sku} ${JSON.stringify(c)}]`;
    expect(c.available + c.held + c.sold, `conservation ${where}`).toBe(c.total);
    expect(c.available, `available ≥ 0 ${where}`).toBeGreaterThanOrEqual(0);
    expect(c.held, `held ≥ 0 ${where}`).toBeGreaterThanOrEqual(0);
    expect(c.sold, `sold ≥ 0 ${where}`).toBeGreaterThanOrEqual(0);
    expect(c.held + c.sold, `no oversell ${where}`).toBeLessThanOrEqual(c.total);
    expect(c.perUser, `per_user ≥ 0 ${where}`).toBeGreaterThanOrEqual(0);
  }
}

export function applyDeltas(stock: StockMap, deltas: readonly Delta[]): StockMap {
  const out: StockMap = new Map();
  for (const [k, v] of stock) out.set(k, { ...v });
  for (const [sku, dt, da, dh, ds] of deltas) {
    const c = out.get(sku) ?? { ...ZERO };
    out.set(sku, {
      total: c.total + dt,
      available: c.available + da,
      held: c.held + dh,
      sold: c.sold + ds,
      perUser: c.perUser,
    });
  }
  return out;
}
