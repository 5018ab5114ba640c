/**
 * The demo's shoppers: who buys what. Everything is a pure function of the checkout number
 * `i` (a hash, not Math.random), so a demo with the same options replays the same crowd.
 *
 *  - ~20% of carts want HOT-1 (1 unit, sometimes 2; a quarter of them add one warm line, which
 *    shows all-or-nothing: when HOT-1 is gone, the warm line is not held either);
 *  - ~30% are multi-line carts of 2–3 distinct warm SKUs, 1 unit each;
 *  - the rest buy 1–3 units of one warm SKU, usually their user's favourite.
 *
 * Warm SKUs are skewed (WARM-1 is the most popular), and each user places about four
 * checkouts (`users = buyers / 4`), mostly on the same favourite SKU, so the per-user limit of
 * 5 warm units (2 for HOT-1) bites now and then.
 *
 * On more than one shard, a cart keeps only the lines on its first line's shard: every cart is
 * decided by one shard, so the ledger changes per kind stay exactly the outcomes (a cart across
 * shards writes one change per part; carts across shards are chaos scenario 12's subject).
 */
import { HOT_SKU, warmSku } from './skus.js';

export interface CrowdShape {
  buyers: number;
  warmSkus: number;
  /** SKU → shard when there is more than one shard (see the module comment). */
  placement?: ReadonlyMap<string, string> | undefined;
}

export type Line = { sku: string; qty: number };

/** Units of a SKU the whole crowd asks for, and how many carts include it. */
export interface Demand {
  units: number;
  carts: number;
}

/** A uniform number in [0, 1) from (i, salt): fmix32 of MurmurHash3. */
export function unit(i: number, salt: number): number {
  let h = (Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(salt, 0xc2b2ae35)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Users: each places about four checkouts (user of checkout i = i % users, as runCrowd does). */
export function userCount(buyers: number): number {
  return Math.max(1, Math.floor(buyers / 4));
}

export function makeCart(shape: CrowdShape): (i: number) => Line[] {
  const w = Math.max(1, shape.warmSkus);
  const users = userCount(shape.buyers);
  // Popularity skew: index = floor(w * x^2) puts WARM-1 first and the tail far behind.
  const popular = (x: number) => warmSku(1 + Math.min(w - 1, Math.floor(w * x * x)));
  const favourite = (user: number) => popular(unit(user, 101));
  const cart = cartOf(w, users, popular, favourite);
  const placement = shape.placement;
  if (!placement || new Set(placement.values()).size < 2) return cart;
  return (i: number): Line[] => {
    const lines = cart(i);
    const home = placement.get(lines[0]!.sku);
    return lines.filter((l) => placement.get(l.sku) === home);
  };
}

function cartOf(
  w: number,
  users: number,
  popular: (x: number) => string,
  favourite: (user: number) => string,
): (i: number) => Line[] {
  return (i: number): Line[] => {
    const user = i % users;
    const kind = unit(i, 1);
    if (kind < 0.2) {
      const lines: Line[] = [{ sku: HOT_SKU, qty: unit(i, 2) < 0.75 ? 1 : 2 }];
      if (unit(i, 3) < 0.25) lines.push({ sku: favourite(user), qty: 1 });
      return lines;
    }
    if (kind < 0.5 && w >= 2) {
      const n = Math.min(w, unit(i, 4) < 0.5 ? 2 : 3);
      const skus = new Set<string>();
      for (let k = 0; skus.size < n; k++) {
        // The first line is usually the favourite; the rest are drawn by popularity.
        if (k > 20) skus.add(warmSku(1 + (k % w)));
        else skus.add(k === 0 && unit(i, 5) < 0.5 ? favourite(user) : popular(unit(i, 10 + k)));
      }
      return [...skus].map((sku) => ({ sku, qty: 1 }));
    }
    const sku = unit(i, 6) < 0.6 ? favourite(user) : popular(unit(i, 7));
    return [{ sku, qty: 1 + Math.floor(unit(i, 8) * 3) }];
  };
}

/** Units of each SKU the whole crowd asks for, and how many carts include it. */
export function demandOf(shape: CrowdShape): Map<string, Demand> {
  const cart = makeCart(shape);
  const m = new Map<string, Demand>();
  for (let i = 0; i < shape.buyers; i++) {
    for (const l of cart(i)) {
      const d = m.get(l.sku) ?? { units: 0, carts: 0 };
      d.units += l.qty;
      d.carts++;
      m.set(l.sku, d);
    }
  }
  return m;
}
