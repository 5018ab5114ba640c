/**
 * extend-6.lua (via includes/hold-decision.lua) against a real Redis: the new deadline is
 * now + hold length, capped by the hold's max total lifetime, and never earlier than before.
 */
import { describe, expect, it } from 'vitest';
import {
  CFG,
  T0,
  cancel,
  confirm,
  extend,
  fileEnv,
  reserve,
  restock,
} from '@holdfast/testkit/gate';

const f = fileEnv();
const HOLD = CFG.holdDefaultSeconds * 1000;
const MAX_TOTAL = CFG.holdMaxTotalSeconds * 1000;

async function withHold() {
  const h = f.harness();
  await h.admin(restock('r1', 'A', 10), T0);
  expect(await h.decide(reserve('res', 'c1', 'u1', [['A', 4]]), T0)).toMatchObject({
    status: 'reserved',
    expiresAt: T0 + HOLD,
  });
  return h;
}

describe('extend', () => {
  it('moves the deadline to now + hold length and the sweep follows it', async () => {
    const h = await withHold();
    const d = await h.decide(extend('e1', 'c1'), T0 + 50_000);
    expect(d).toEqual({ status: 'extended', expiresAt: T0 + 50_000 + HOLD });
    expect((await h.due()).get('c1')).toBe(T0 + 50_000 + HOLD);
    // The old deadline no longer expires it.
    expect((await h.expireDue(T0 + HOLD)).count).toBe(0);
    expect((await h.expireDue(T0 + 50_000 + HOLD)).count).toBe(1);
    await h.checkAll();
  });

  it('clamps the requested hold_seconds like reserve does', async () => {
    const h = await withHold();
    expect((await h.decide(extend('e1', 'c1', 99_999), T0 + 1_000)).expiresAt).toBe(
      T0 + 1_000 + CFG.holdMaxSeconds * 1000,
    );
    await h.checkAll();
  });

  it('never moves the deadline past created_at + max total lifetime', async () => {
    const h = await withHold();
    let now = T0;
    let last = T0 + HOLD;
    for (let i = 0; i < 10; i++) {
      now = last - 1_000;
      const d = await h.decide(extend(`e${i}`, 'c1', CFG.holdMaxSeconds), now);
      expect(d.status).toBe('extended');
      expect(d.expiresAt).toBe(Math.min(now + CFG.holdMaxSeconds * 1000, T0 + MAX_TOTAL));
      last = d.expiresAt!;
    }
    expect(last).toBe(T0 + MAX_TOTAL);
    expect((await h.hold('c1'))?.expiresAt).toBe(T0 + MAX_TOTAL);
    await h.checkAll();
  });

  it('never shortens: a shorter extension keeps the current deadline (still an accepted event)', async () => {
    const h = await withHold();
    await h.decide(extend('e1', 'c1', CFG.holdMaxSeconds), T0 + 1_000); // → T0 + 121 s
    const d = await h.decide(extend('e2', 'c1', CFG.holdMinSeconds), T0 + 2_000); // asks T0 + 12 s
    expect(d).toEqual({ status: 'extended', expiresAt: T0 + 1_000 + CFG.holdMaxSeconds * 1000 });
    // The ledger carries an 'extend' entry with zero deltas (checked by the harness).
    const ext = (await h.allLedger()).filter((l) => l.kind === 'extend');
    expect(ext.map((l) => l.lines)).toEqual([[['A', 0, 0, 0, 0]], [['A', 0, 0, 0, 0]]]);
    await h.checkAll();
  });

  it('rejects unknown_hold', async () => {
    const h = await withHold();
    expect(await h.decide(extend('e1', 'nope'), T0)).toEqual({
      status: 'rejected',
      reason: 'unknown_hold',
    });
    await h.checkAll();
  });

  it('rejects hold_expired after the sweep', async () => {
    const h = await withHold();
    await h.expireDue(T0 + HOLD);
    expect(await h.decide(extend('e1', 'c1'), T0 + HOLD + 1)).toEqual({
      status: 'rejected',
      reason: 'hold_expired',
    });
    await h.checkAll();
  });

  it('rejects hold_expired at/after the deadline before the sweep (cannot revive a lapsed hold)', async () => {
    const h = await withHold();
    expect(await h.decide(extend('e1', 'c1'), T0 + HOLD)).toEqual({
      status: 'rejected',
      reason: 'hold_expired',
    });
    expect(await h.decide(extend('e2', 'c1'), T0 + HOLD + 9_000)).toEqual({
      status: 'rejected',
      reason: 'hold_expired',
    });
    expect((await h.due()).get('c1')).toBe(T0 + HOLD);
    expect((await h.expireDue(T0 + HOLD + 9_000)).count).toBe(1);
    await h.checkAll();
  });

  it('rejects hold_cancelled and hold_confirmed', async () => {
    const h = await withHold();
    await h.admin(restock('r2', 'B', 1), T0);
    await h.decide(reserve('res2', 'c2', 'u2', [['B', 1]]), T0);
    await h.decide(cancel('x1', 'c1'), T0 + 1);
    await h.decide(confirm('x2', 'c2'), T0 + 1);
    expect(await h.decide(extend('e1', 'c1'), T0 + 2)).toEqual({
      status: 'rejected',
      reason: 'hold_cancelled',
    });
    expect(await h.decide(extend('e2', 'c2'), T0 + 2)).toEqual({
      status: 'rejected',
      reason: 'hold_confirmed',
    });
    await h.checkAll();
  });

  it("answers a re-sent event 'duplicate' and does not move the deadline again", async () => {
    const h = await withHold();
    const d = await h.decide(extend('e1', 'c1'), T0 + 10_000);
    expect(await h.decide(extend('e1', 'c1'), T0 + 40_000)).toEqual({ status: 'duplicate' });
    expect((await h.hold('c1'))?.expiresAt).toBe(d.expiresAt);
    await h.checkAll();
  });
});
