/**
 * setLimit-4.lua (admin) against a real Redis: sets per_user (0 = no limit), creates the SKU at
 * zero when new, idempotent by event_id, one 'set_limit' ledger entry with a per_user field.
 */
import { describe, expect, it } from 'vitest';
import { T0, fileEnv, reserve, restock, setLimit } from '@holdfast/testkit/gate';

const f = fileEnv();

describe('setLimit', () => {
  it('sets the limit on an existing SKU without touching its counters', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 9), T0);
    expect(await h.admin(setLimit('l1', 'A', 2), T0)).toBe('limit_set');
    expect(await h.stock('A')).toEqual({ total: 9, available: 9, held: 0, sold: 0, perUser: 2 });
    const res = await h.queueAdmin(h.r.pipeline(), setLimit('l2', 'A', 3), T0).exec();
    expect(res).toEqual([[null, ['limit_set', '3']]]);
    await h.checkAll();
  });

  it('creates an unknown SKU with zero stock so a limit can precede the first restock', async () => {
    const h = f.harness();
    await h.admin(setLimit('l1', 'NEW', 1), T0);
    expect(await h.stock('NEW')).toEqual({ total: 0, available: 0, held: 0, sold: 0, perUser: 1 });
    // Known but empty: out_of_stock, not unknown_sku.
    expect(await h.decide(reserve('e1', 'c1', 'u', [['NEW', 1]]), T0)).toEqual({
      status: 'rejected',
      reason: 'out_of_stock',
    });
    await h.admin(restock('r1', 'NEW', 5), T0);
    expect(await h.stock('NEW')).toEqual({ total: 5, available: 5, held: 0, sold: 0, perUser: 1 });
    expect(await h.decide(reserve('e2', 'c2', 'u', [['NEW', 1]]), T0)).toMatchObject({
      status: 'reserved',
    });
    expect(await h.decide(reserve('e3', 'c3', 'u', [['NEW', 1]]), T0)).toMatchObject({
      reason: 'user_limit',
    });
    await h.checkAll();
  });

  it('0 means no limit', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 100), T0);
    await h.admin(setLimit('l1', 'A', 1), T0);
    expect(await h.decide(reserve('e1', 'c1', 'u', [['A', 2]]), T0)).toMatchObject({
      reason: 'user_limit',
    });
    await h.admin(setLimit('l2', 'A', 0), T0);
    expect(await h.decide(reserve('e2', 'c2', 'u', [['A', 100]]), T0)).toMatchObject({
      status: 'reserved',
    });
    await h.checkAll();
  });

  it("is idempotent: a re-sent event_id is 'duplicate' and changes nothing", async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 10), T0);
    await h.admin(setLimit('l1', 'A', 2), T0);
    expect(await h.admin(setLimit('l1', 'A', 7), T0 + 1)).toBe('duplicate');
    expect(await h.admin(setLimit('l1', 'B', 7), T0 + 1)).toBe('duplicate');
    expect(await h.stock('A')).toMatchObject({ perUser: 2 });
    expect(await h.stock('B')).toBeUndefined();
    expect((await h.allLedger()).map((l) => l.change_id)).toEqual(['restock:r1', 'set_limit:l1']);
    await h.checkAll();
  });
});
