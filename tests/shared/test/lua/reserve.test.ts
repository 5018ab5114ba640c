/**
 * reserve-6.lua against a real Redis: every status and reason. Every call goes through the
 * harness, which also checks conservation, the outcome entry, the ledger entry and its deltas,
 * and the ledger sums (see @holdfast/testkit/gate).
 */
import { describe, expect, it } from 'vitest';
import {
  CFG,
  T0,
  cancel,
  confirm,
  fileEnv,
  reserve,
  restock,
  setLimit,
} from '@holdfast/testkit/gate';

const f = fileEnv();

describe('reserve', () => {
  it('reserves: available → held, deadline = now + default hold, usage counted', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 10), T0);
    const d = await h.decide(reserve('e1', 'c1', 'u1', [['A', 3]]), T0);
    expect(d).toEqual({ status: 'reserved', expiresAt: T0 + CFG.holdDefaultSeconds * 1000 });
    expect(await h.stock('A')).toEqual({ total: 10, available: 7, held: 3, sold: 0, perUser: 0 });
    expect(await h.usage('u1', 'A')).toBe(3);
    expect((await h.hold('c1'))?.state).toBe('active');
    await h.checkAll();
  });

  it('clamps hold_seconds to [min, max] and to the max total lifetime', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 10), T0);
    expect((await h.decide(reserve('e1', 'c1', 'u', [['A', 1]], 1), T0)).expiresAt).toBe(
      T0 + CFG.holdMinSeconds * 1000,
    );
    expect((await h.decide(reserve('e2', 'c2', 'u', [['A', 1]], 99_999), T0)).expiresAt).toBe(
      T0 + CFG.holdMaxSeconds * 1000,
    );
    expect((await h.decide(reserve('e3', 'c3', 'u', [['A', 1]], 30), T0)).expiresAt).toBe(
      T0 + 30_000,
    );

    // A max total shorter than the requested hold caps the first deadline too.
    const short = f.harness({ ...CFG, holdMaxSeconds: 120, holdMaxTotalSeconds: 90 });
    await short.admin(restock('r1', 'A', 10), T0);
    expect((await short.decide(reserve('e1', 'c1', 'u', [['A', 1]], 120), T0)).expiresAt).toBe(
      T0 + 90_000,
    );
    await h.checkAll();
    await short.checkAll();
  });

  it('rejects out_of_stock; exactly the available quantity can still be held', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 5), T0);
    expect(await h.decide(reserve('e1', 'c1', 'u1', [['A', 6]]), T0)).toEqual({
      status: 'rejected',
      reason: 'out_of_stock',
    });
    expect(await h.decide(reserve('e2', 'c2', 'u1', [['A', 5]]), T0)).toMatchObject({
      status: 'reserved',
    });
    expect(await h.stock('A')).toEqual({ total: 5, available: 0, held: 5, sold: 0, perUser: 0 });
    expect(await h.decide(reserve('e3', 'c3', 'u2', [['A', 1]]), T0)).toEqual({
      status: 'rejected',
      reason: 'out_of_stock',
    });
    // A rejected reserve leaves no hold behind: the checkout id stays free.
    expect(await h.hold('c3')).toBeUndefined();
    await h.checkAll();
  });

  it('rejects unknown_sku (never creates the SKU)', async () => {
    const h = f.harness();
    expect(await h.decide(reserve('e1', 'c1', 'u1', [['NOPE', 1]]), T0)).toEqual({
      status: 'rejected',
      reason: 'unknown_sku',
    });
    expect(await h.stockAll()).toEqual(new Map());
    expect(await h.r.exists(h.sk.stock('NOPE'))).toBe(0);
    await h.checkAll();
  });

  it('is all-or-nothing over several lines', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 10), T0);
    await h.admin(restock('r2', 'B', 3), T0);
    await h.admin(restock('r3', 'C', 10), T0);
    await h.admin(setLimit('l1', 'C', 2), T0);
    const untouched = await h.stockAll();

    // Second line short: nothing is held, not even the first line.
    expect(
      await h.decide(
        reserve('e1', 'c1', 'u1', [
          ['A', 2],
          ['B', 4],
        ]),
        T0,
      ),
    ).toEqual({
      status: 'rejected',
      reason: 'out_of_stock',
    });
    // Second line unknown.
    expect(
      await h.decide(
        reserve('e2', 'c2', 'u1', [
          ['A', 2],
          ['ZZ', 1],
        ]),
        T0,
      ),
    ).toEqual({
      status: 'rejected',
      reason: 'unknown_sku',
    });
    // Third line over the user's limit.
    expect(
      await h.decide(
        reserve('e3', 'c3', 'u1', [
          ['A', 2],
          ['B', 1],
          ['C', 3],
        ]),
        T0,
      ),
    ).toEqual({ status: 'rejected', reason: 'user_limit' });
    expect(await h.stockAll()).toEqual(untouched);
    expect(await h.usage('u1', 'A')).toBe(0);

    // The reason is the first failing line's.
    expect(
      await h.decide(
        reserve('e4', 'c4', 'u1', [
          ['ZZ', 1],
          ['B', 99],
        ]),
        T0,
      ),
    ).toMatchObject({
      reason: 'unknown_sku',
    });
    expect(
      await h.decide(
        reserve('e5', 'c5', 'u1', [
          ['B', 99],
          ['ZZ', 1],
        ]),
        T0,
      ),
    ).toMatchObject({
      reason: 'out_of_stock',
    });

    // Every line fits: all are held, one ledger entry carries every line (checked by the harness).
    expect(
      await h.decide(
        reserve('e6', 'c6', 'u1', [
          ['A', 2],
          ['B', 3],
          ['C', 2],
        ]),
        T0,
      ),
    ).toMatchObject({ status: 'reserved' });
    expect(await h.stock('A')).toMatchObject({ available: 8, held: 2 });
    expect(await h.stock('B')).toMatchObject({ available: 0, held: 3 });
    expect(await h.stock('C')).toMatchObject({ available: 8, held: 2 });
    await h.checkAll();
  });

  it('enforces the per-user limit over held + sold units; cancel and expiry give units back', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 100), T0);
    await h.admin(setLimit('l1', 'A', 3), T0);

    expect(await h.decide(reserve('e1', 'c1', 'u1', [['A', 2]]), T0)).toMatchObject({
      status: 'reserved',
    });
    expect(await h.decide(reserve('e2', 'c2', 'u1', [['A', 2]]), T0)).toEqual({
      status: 'rejected',
      reason: 'user_limit',
    });
    // Other users have their own allowance.
    expect(await h.decide(reserve('e3', 'c3', 'u2', [['A', 3]]), T0)).toMatchObject({
      status: 'reserved',
    });
    expect(await h.decide(reserve('e4', 'c4', 'u2', [['A', 1]]), T0)).toMatchObject({
      reason: 'user_limit',
    });

    // Sold units keep counting: u1 confirms 2, may add 1 more, not 2.
    expect(await h.decide(confirm('e5', 'c1'), T0 + 1)).toEqual({ status: 'confirmed' });
    expect(await h.usage('u1', 'A')).toBe(2);
    expect(await h.decide(reserve('e6', 'c6', 'u1', [['A', 2]]), T0 + 2)).toMatchObject({
      reason: 'user_limit',
    });
    expect(await h.decide(reserve('e7', 'c7', 'u1', [['A', 1]]), T0 + 2)).toMatchObject({
      status: 'reserved',
    });
    expect(await h.decide(reserve('e8', 'c8', 'u1', [['A', 1]]), T0 + 2)).toMatchObject({
      reason: 'user_limit',
    });

    // Cancel gives the held unit back to the user's allowance.
    expect(await h.decide(cancel('e9', 'c7'), T0 + 3)).toEqual({ status: 'cancelled' });
    expect(await h.usage('u1', 'A')).toBe(2);
    expect(await h.decide(reserve('e10', 'c10', 'u1', [['A', 1]]), T0 + 4)).toMatchObject({
      status: 'reserved',
    });

    // Expiry does too.
    const exp = await h.expireDue(T0 + 4 + CFG.holdDefaultSeconds * 1000);
    expect(exp.expired.map((e) => e.checkoutId).sort()).toEqual(['c10', 'c3']);
    expect(await h.usage('u1', 'A')).toBe(2);
    expect(await h.usage('u2', 'A')).toBe(0);
    const later = T0 + 10 * 60_000;
    expect(await h.decide(reserve('e11', 'c11', 'u1', [['A', 1]]), later)).toMatchObject({
      status: 'reserved',
    });
    expect(await h.decide(reserve('e12', 'c12', 'u2', [['A', 3]]), later)).toMatchObject({
      status: 'reserved',
    });

    // Lowering the limit below current usage blocks new units but releases nothing.
    await h.admin(setLimit('l2', 'A', 1), later);
    expect(await h.decide(reserve('e13', 'c13', 'u2', [['A', 1]]), later)).toMatchObject({
      reason: 'user_limit',
    });
    expect(await h.stock('A')).toMatchObject({ held: 4, sold: 2 });

    // 0 = no limit.
    await h.admin(setLimit('l3', 'A', 0), later);
    expect(await h.decide(reserve('e14', 'c14', 'u1', [['A', 50]]), later)).toMatchObject({
      status: 'reserved',
    });
    await h.checkAll();
  });

  it('rejects hold_exists for an active, confirmed, cancelled, expired and past-deadline hold', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 100), T0);
    const holdSeconds: Record<string, number> = { act: 120, conf: 60, canc: 60, exp: 10, late: 20 };
    for (const [c, s] of Object.entries(holdSeconds)) {
      expect(await h.decide(reserve(`first-${c}`, c, 'u1', [['A', 1]], s), T0)).toMatchObject({
        status: 'reserved',
      });
    }
    await h.decide(confirm('x-conf', 'conf'), T0 + 1);
    await h.decide(cancel('x-canc', 'canc'), T0 + 1);
    // The sweep at T0+10s expires 'exp' only; 'late' passes its deadline (T0+20s) unswept.
    const res = await h.expireDue(T0 + 10_000);
    expect(res.expired.map((e) => e.checkoutId)).toEqual(['exp']);
    const at = T0 + 31_000;
    expect((await h.hold('late'))?.state).toBe('active');

    const before = await h.stockAll();
    let i = 0;
    for (const c of Object.keys(holdSeconds)) {
      expect(await h.decide(reserve(`again-${++i}`, c, 'u2', [['A', 1]]), at), c).toEqual({
        status: 'rejected',
        reason: 'hold_exists',
      });
    }
    // hold_exists wins over the stock checks.
    expect(await h.decide(reserve('again-x', 'act', 'u2', [['NOPE', 1]]), at)).toMatchObject({
      reason: 'hold_exists',
    });
    expect(await h.stockAll()).toEqual(before);
    await h.checkAll();
  });

  it("answers a re-sent event_id 'duplicate' with no second outcome or ledger entry", async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 5), T0);
    const first = await h.decide(reserve('e1', 'c1', 'u1', [['A', 2]]), T0);
    expect(first.status).toBe('reserved');
    // Same event again, later, and even with different content: nothing changes.
    expect(await h.decide(reserve('e1', 'c1', 'u1', [['A', 2]]), T0 + 5)).toEqual({
      status: 'duplicate',
    });
    expect(await h.decide(reserve('e1', 'c-other', 'u9', [['A', 1]]), T0 + 6)).toEqual({
      status: 'duplicate',
    });
    expect(await h.hold('c-other')).toBeUndefined();

    // A rejected event is decided too: its re-send is a duplicate, even once stock is back.
    expect(await h.decide(reserve('e2', 'c2', 'u1', [['A', 4]]), T0)).toMatchObject({
      reason: 'out_of_stock',
    });
    await h.admin(restock('r2', 'A', 10), T0);
    expect(await h.decide(reserve('e2', 'c2', 'u1', [['A', 4]]), T0 + 7)).toEqual({
      status: 'duplicate',
    });

    // One outcome and one ledger entry per distinct event, whatever the re-sends.
    const outs = await h.allOutcomes();
    expect(outs.map((o) => `${o.f.event_id}:${o.f.status}`)).toEqual([
      'e1:reserved',
      'e2:rejected',
    ]);
    const ledger = await h.allLedger();
    expect(ledger.map((l) => l.change_id)).toEqual(['restock:r1', 'reserve:e1', 'restock:r2']);
    await h.checkAll();
  });

  it('event ids are remembered across types: a confirm re-using a reserve event_id is a duplicate', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 5), T0);
    await h.decide(reserve('e1', 'c1', 'u1', [['A', 1]]), T0);
    expect(await h.decide(confirm('e1', 'c1'), T0 + 1)).toEqual({ status: 'duplicate' });
    expect((await h.hold('c1'))?.state).toBe('active');
    await h.checkAll();
  });

  it('uses the Redis clock when no `now` is given', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 5), T0);
    const [s] = await h.r.time();
    const d = await h.gate.decide(h.r, reserve('e1', 'c1', 'u1', [['A', 1]]));
    expect(d.status).toBe('reserved');
    const redisNow = Number(s) * 1000;
    expect(d.expiresAt).toBeGreaterThanOrEqual(redisNow + CFG.holdDefaultSeconds * 1000 - 1_000);
    expect(d.expiresAt).toBeLessThanOrEqual(redisNow + CFG.holdDefaultSeconds * 1000 + 5_000);
    await h.checkAll();
  });
});

describe('reserve: lines that validation normally stops (the gate must still be safe)', () => {
  it('checks a SKU listed twice against its summed quantity (no oversell, no limit bypass)', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 5), T0);
    await h.admin(restock('r2', 'B', 10), T0);
    await h.admin(setLimit('l1', 'B', 4), T0);
    expect(
      await h.decide(
        reserve('e1', 'c1', 'u1', [
          ['A', 3],
          ['A', 3],
        ]),
        T0,
      ),
    ).toEqual({
      status: 'rejected',
      reason: 'out_of_stock',
    });
    expect(
      await h.decide(
        reserve('e2', 'c2', 'u1', [
          ['B', 3],
          ['B', 2],
        ]),
        T0,
      ),
    ).toEqual({
      status: 'rejected',
      reason: 'user_limit',
    });
    expect(await h.stock('A')).toMatchObject({ available: 5, held: 0 });
    // Within stock and limit, each line is held (the ledger entry lists both).
    expect(
      await h.decide(
        reserve('e3', 'c3', 'u1', [
          ['A', 2],
          ['A', 3],
        ]),
        T0,
      ),
    ).toMatchObject({
      status: 'reserved',
    });
    expect(await h.stock('A')).toMatchObject({ available: 0, held: 5 });
    expect(await h.decide(cancel('e4', 'c3'), T0 + 1)).toEqual({ status: 'cancelled' });
    expect(await h.stock('A')).toMatchObject({ available: 5, held: 0 });
    await h.checkAll();
  });

  it('fails a qty that is not a positive integer before writing anything', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 5), T0);
    await h.admin(restock('r2', 'B', 5), T0);
    const before = await h.stockAll();
    await h.newOutcomes();
    await h.newLedger();
    for (const [i, lines] of (
      [
        [
          ['A', 1],
          ['B', 1.5],
        ],
        [
          ['A', 1],
          ['B', 0],
        ],
        [['B', -2]],
      ] as Array<Array<[string, number]>>
    ).entries()) {
      await expect(
        h.gate.decide(h.r, reserve(`bad${i}`, `cb${i}`, 'u1', lines), T0),
      ).rejects.toThrow(/qty must be a positive integer/);
      // Not even the dedupe mark: a retry is judged afresh (and ends in the dead letters).
      expect(await h.r.exists(h.sk.event(`bad${i}`), h.sk.hold(`cb${i}`))).toBe(0);
    }
    expect(await h.stockAll()).toEqual(before);
    expect(await h.usage('u1', 'A')).toBe(0);
    expect(await h.newOutcomes()).toEqual([]);
    expect(await h.newLedger()).toEqual([]);
    await h.checkAll();
  });
});
