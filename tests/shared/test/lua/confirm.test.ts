/**
 * confirm-6.lua (via includes/hold-decision.lua) against a real Redis: every status and reason.
 * The harness checks conservation, outcome, ledger deltas and ledger sums around every call.
 */
import { describe, expect, it } from 'vitest';
import { CFG, T0, cancel, confirm, fileEnv, reserve, restock } from '@holdfast/testkit/gate';

const f = fileEnv();
const HOLD = CFG.holdDefaultSeconds * 1000;

async function withHold(
  lines: Array<[string, number]> = [
    ['A', 2],
    ['B', 1],
  ],
) {
  const h = f.harness();
  await h.admin(restock('r1', 'A', 10), T0);
  await h.admin(restock('r2', 'B', 10), T0);
  expect(await h.decide(reserve('res', 'c1', 'u1', lines), T0)).toMatchObject({
    status: 'reserved',
  });
  return h;
}

describe('confirm', () => {
  it('confirms an active hold: held → sold on every line, usage kept, hold leaves holds:due', async () => {
    const h = await withHold();
    expect(await h.decide(confirm('e1', 'c1'), T0 + 1_000)).toEqual({ status: 'confirmed' });
    expect(await h.stock('A')).toEqual({ total: 10, available: 8, held: 0, sold: 2, perUser: 0 });
    expect(await h.stock('B')).toEqual({ total: 10, available: 9, held: 0, sold: 1, perUser: 0 });
    expect(await h.usage('u1', 'A')).toBe(2);
    expect((await h.due()).size).toBe(0);
    // A confirmed hold is never expired later.
    expect((await h.expireDue(T0 + 10 * HOLD)).count).toBe(0);
    await h.checkAll();
  });

  it('confirms one ms before the deadline', async () => {
    const h = await withHold();
    expect(await h.decide(confirm('e1', 'c1'), T0 + HOLD - 1)).toEqual({ status: 'confirmed' });
    await h.checkAll();
  });

  it('rejects unknown_hold', async () => {
    const h = await withHold();
    expect(await h.decide(confirm('e1', 'nope'), T0)).toEqual({
      status: 'rejected',
      reason: 'unknown_hold',
    });
    await h.checkAll();
  });

  it('rejects hold_expired after the sweep released it', async () => {
    const h = await withHold();
    expect((await h.expireDue(T0 + HOLD)).count).toBe(1);
    expect(await h.decide(confirm('e1', 'c1'), T0 + HOLD + 1)).toEqual({
      status: 'rejected',
      reason: 'hold_expired',
    });
    expect(await h.stock('A')).toMatchObject({ available: 10, held: 0, sold: 0 });
    await h.checkAll();
  });

  it('rejects hold_expired at and past the deadline before any sweep; the sweep still releases it', async () => {
    const h = await withHold();
    expect(await h.decide(confirm('e1', 'c1'), T0 + HOLD)).toEqual({
      status: 'rejected',
      reason: 'hold_expired',
    });
    expect(await h.decide(confirm('e2', 'c1'), T0 + HOLD + 50_000)).toEqual({
      status: 'rejected',
      reason: 'hold_expired',
    });
    // Still held until the sweep: the rejection itself changed nothing.
    expect(await h.stock('A')).toMatchObject({ available: 8, held: 2 });
    expect((await h.hold('c1'))?.state).toBe('active');
    expect((await h.expireDue(T0 + HOLD + 50_000)).count).toBe(1);
    expect(await h.stock('A')).toMatchObject({ available: 10, held: 0 });
    await h.checkAll();
  });

  it('rejects hold_cancelled', async () => {
    const h = await withHold();
    await h.decide(cancel('e1', 'c1'), T0 + 1);
    expect(await h.decide(confirm('e2', 'c1'), T0 + 2)).toEqual({
      status: 'rejected',
      reason: 'hold_cancelled',
    });
    await h.checkAll();
  });

  it('rejects hold_confirmed for a second confirm with a new event_id', async () => {
    const h = await withHold();
    await h.decide(confirm('e1', 'c1'), T0 + 1);
    expect(await h.decide(confirm('e2', 'c1'), T0 + 2)).toEqual({
      status: 'rejected',
      reason: 'hold_confirmed',
    });
    expect(await h.stock('A')).toMatchObject({ held: 0, sold: 2 });
    await h.checkAll();
  });

  it("answers a re-sent event 'duplicate' (accepted or rejected) without a second outcome", async () => {
    const h = await withHold();
    await h.decide(confirm('e1', 'c1'), T0 + 1);
    expect(await h.decide(confirm('e1', 'c1'), T0 + 2)).toEqual({ status: 'duplicate' });
    await h.decide(confirm('e2', 'nope'), T0 + 3);
    expect(await h.decide(confirm('e2', 'nope'), T0 + 4)).toEqual({ status: 'duplicate' });
    const outs = await h.allOutcomes();
    expect(
      outs.filter((o) => o.f.type === 'confirm').map((o) => `${o.f.event_id}:${o.f.status}`),
    ).toEqual(['e1:confirmed', 'e2:rejected']);
    expect((await h.allLedger()).filter((l) => l.kind === 'confirm')).toHaveLength(1);
    await h.checkAll();
  });
});
