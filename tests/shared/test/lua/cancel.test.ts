/**
 * cancel-6.lua (via includes/hold-decision.lua) against a real Redis: every status and reason.
 * Unlike confirm and extend, a cancel past the deadline (before the sweep) is accepted by
 * design: both end with the stock back, and the sweep then has nothing left to release.
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
const HOLD = CFG.holdDefaultSeconds * 1000;

async function withHold() {
  const h = f.harness();
  await h.admin(restock('r1', 'A', 10), T0);
  await h.admin(restock('r2', 'B', 10), T0);
  await h.admin(setLimit('l1', 'A', 2), T0);
  expect(
    await h.decide(
      reserve('res', 'c1', 'u1', [
        ['A', 2],
        ['B', 3],
      ]),
      T0,
    ),
  ).toMatchObject({
    status: 'reserved',
  });
  return h;
}

describe('cancel', () => {
  it('cancels an active hold: held → available on every line, usage given back', async () => {
    const h = await withHold();
    expect(await h.decide(cancel('e1', 'c1'), T0 + 1)).toEqual({ status: 'cancelled' });
    expect(await h.stock('A')).toEqual({ total: 10, available: 10, held: 0, sold: 0, perUser: 2 });
    expect(await h.stock('B')).toEqual({ total: 10, available: 10, held: 0, sold: 0, perUser: 0 });
    expect(await h.usage('u1', 'A')).toBe(0);
    expect(await h.decide(reserve('res2', 'c2', 'u1', [['A', 2]]), T0 + 2)).toMatchObject({
      status: 'reserved',
    });
    await h.checkAll();
  });

  it('accepts a cancel past the deadline before the sweep; the sweep then expires nothing', async () => {
    const h = await withHold();
    expect(await h.decide(cancel('e1', 'c1'), T0 + HOLD + 5_000)).toEqual({ status: 'cancelled' });
    expect(await h.stock('A')).toMatchObject({ available: 10, held: 0 });
    expect((await h.expireDue(T0 + HOLD + 10_000)).count).toBe(0);
    expect((await h.allOutcomes()).filter((o) => o.f.status === 'expired')).toEqual([]);
    await h.checkAll();
  });

  it('rejects unknown_hold', async () => {
    const h = await withHold();
    expect(await h.decide(cancel('e1', 'nope'), T0)).toEqual({
      status: 'rejected',
      reason: 'unknown_hold',
    });
    await h.checkAll();
  });

  it('rejects hold_expired after the sweep (no double release)', async () => {
    const h = await withHold();
    expect((await h.expireDue(T0 + HOLD)).count).toBe(1);
    expect(await h.decide(cancel('e1', 'c1'), T0 + HOLD + 1)).toEqual({
      status: 'rejected',
      reason: 'hold_expired',
    });
    expect(await h.stock('A')).toMatchObject({ total: 10, available: 10, held: 0 });
    await h.checkAll();
  });

  it('rejects hold_cancelled for a second cancel (no double release)', async () => {
    const h = await withHold();
    await h.decide(cancel('e1', 'c1'), T0 + 1);
    expect(await h.decide(cancel('e2', 'c1'), T0 + 2)).toEqual({
      status: 'rejected',
      reason: 'hold_cancelled',
    });
    expect(await h.stock('B')).toMatchObject({ total: 10, available: 10, held: 0 });
    await h.checkAll();
  });

  it('rejects hold_confirmed (a sale is never cancelled back into stock)', async () => {
    const h = await withHold();
    await h.decide(confirm('e1', 'c1'), T0 + 1);
    expect(await h.decide(cancel('e2', 'c1'), T0 + 2)).toEqual({
      status: 'rejected',
      reason: 'hold_confirmed',
    });
    expect(await h.stock('A')).toMatchObject({ sold: 2, held: 0, available: 8 });
    await h.checkAll();
  });

  it("answers a re-sent event 'duplicate'", async () => {
    const h = await withHold();
    await h.decide(cancel('e1', 'c1'), T0 + 1);
    expect(await h.decide(cancel('e1', 'c1'), T0 + 2)).toEqual({ status: 'duplicate' });
    await h.decide(cancel('e2', 'c1'), T0 + 3);
    expect(await h.decide(cancel('e2', 'c1'), T0 + 4)).toEqual({ status: 'duplicate' });
    expect((await h.allLedger()).filter((l) => l.kind === 'cancel')).toHaveLength(1);
    await h.checkAll();
  });
});
