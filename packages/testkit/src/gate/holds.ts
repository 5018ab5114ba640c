/**
 * Hold hashes as the gate keeps them, and the structural invariants that tie them to the
 * counters: holds:due is exactly the active holds (scored by deadline), held per SKU is the sum
 * of active holds, sold the sum of confirmed ones, usage per user the sum of the user's active
 * and confirmed holds.
 */
import { expect } from 'vitest';
import type { StockMap } from './stock.js';

export interface HoldView {
  checkoutId: string;
  state: string;
  user: string;
  lines: Array<[string, number]>;
  expiresAt: number;
  createdAt: number;
  maxUntil: number;
  n: string;
  eventId: string;
  pttl: number;
}

export function toHoldView(
  checkoutId: string,
  h: Record<string, string>,
  pttl: number,
): HoldView | undefined {
  if (!h.state) return undefined;
  return {
    checkoutId,
    state: h.state,
    user: h.user!,
    lines: JSON.parse(h.lines!) as Array<[string, number]>,
    expiresAt: Number(h.expires_at),
    createdAt: Number(h.created_at),
    maxUntil: Number(h.max_until),
    n: h.n!,
    eventId: h.event_id!,
    pttl,
  };
}

/** A hold without its TTL (which moves between two reads). */
export function stripTtl(h: HoldView | undefined): Omit<HoldView, 'pttl'> | undefined {
  if (!h) return undefined;
  const { pttl: _pttl, ...rest } = h;
  return rest;
}

/** Asserts that the holds, holds:due and usage agree with the counters `s` (see above). */
export function assertHoldsAgree(
  s: StockMap,
  holds: Map<string, HoldView>,
  due: Map<string, number>,
  usage: Map<string, Map<string, number>>,
  o: { finishedHoldTtlMs: number; finishedHoldsKept: boolean },
): void {
  const held = new Map<string, number>();
  const sold = new Map<string, number>();
  const used = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, q: number) => m.set(k, (m.get(k) ?? 0) + q);
  for (const h of holds.values()) {
    expect(
      ['active', 'confirmed', 'cancelled', 'expired'],
      `state of hold ${h.checkoutId}`,
    ).toContain(h.state);
    expect(
      h.expiresAt,
      `hold ${h.checkoutId} deadline within its max lifetime`,
    ).toBeLessThanOrEqual(h.maxUntil);
    expect(h.expiresAt, `hold ${h.checkoutId} deadline after creation`).toBeGreaterThan(
      h.createdAt,
    );
    if (h.state === 'active') {
      expect(
        due.get(h.checkoutId),
        `active hold ${h.checkoutId} is in holds:due at its deadline`,
      ).toBe(h.expiresAt);
      expect(h.pttl, `active hold ${h.checkoutId} has no TTL`).toBe(-1);
    } else {
      expect(due.has(h.checkoutId), `finished hold ${h.checkoutId} left holds:due`).toBe(false);
      expect(h.pttl, `finished hold ${h.checkoutId} has a TTL`).toBeGreaterThan(0);
      expect(h.pttl).toBeLessThanOrEqual(o.finishedHoldTtlMs);
    }
    for (const [sku, q] of h.lines) {
      if (h.state === 'active') add(held, sku, q);
      if (h.state === 'confirmed') add(sold, sku, q);
      if (h.state === 'active' || h.state === 'confirmed') add(used, `${h.user}\u0000${sku}`, q);
    }
  }
  for (const cid of due.keys()) {
    expect(holds.get(cid)?.state, `holds:due member ${cid} is an active hold`).toBe('active');
  }
  for (const [sku, c] of s) {
    expect(c.held, `held of ${sku} = units of its active holds`).toBe(held.get(sku) ?? 0);
  }
  const kept = o.finishedHoldsKept;
  for (const [user, m] of usage) {
    for (const [sku, q] of m) {
      expect(q, `usage ${user}/${sku} ≥ 0`).toBeGreaterThanOrEqual(0);
      if (kept)
        expect(q, `usage ${user}/${sku} = held + sold units`).toBe(
          used.get(`${user}\u0000${sku}`) ?? 0,
        );
      else expect(q).toBeGreaterThanOrEqual(used.get(`${user}\u0000${sku}`) ?? 0);
    }
  }
  for (const [k, q] of used) {
    const [user, sku] = k.split('\u0000') as [string, string];
    expect(usage.get(user)?.get(sku), `usage ${user}/${sku} recorded`).toBeGreaterThanOrEqual(q);
  }
  if (kept) {
    for (const [sku, c] of s)
      expect(c.sold, `sold of ${sku} = units of confirmed holds`).toBe(sold.get(sku) ?? 0);
  }
}
