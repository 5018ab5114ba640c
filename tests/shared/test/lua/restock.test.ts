/**
 * restock-4.lua (admin) against a real Redis: creates SKUs, adds to total and available,
 * idempotent by event_id, one 'restock' ledger entry, no public outcome.
 */
import { describe, expect, it } from 'vitest';
import { T0, confirm, fileEnv, reserve, restock } from '@holdfast/testkit/gate';

const f = fileEnv();

describe('restock', () => {
  it('creates a SKU with every counter set and registers it in the skus set', async () => {
    const h = f.harness();
    expect(await h.stock('NEW')).toBeUndefined();
    expect(await h.admin(restock('r1', 'NEW', 7), T0)).toBe('restocked');
    expect(await h.stock('NEW')).toEqual({ total: 7, available: 7, held: 0, sold: 0, perUser: 0 });
    expect(await h.r.sismember(h.sk.skus, 'NEW')).toBe(1);
    expect(await h.r.hgetall(h.sk.stock('NEW'))).toEqual({
      total: '7',
      available: '7',
      held: '0',
      sold: '0',
      per_user: '0',
    });
    await h.checkAll();
  });

  it('adds to an existing SKU, including one with held and sold units, and returns the new total', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 3), T0);
    await h.decide(reserve('e1', 'c1', 'u', [['A', 2]]), T0);
    await h.decide(reserve('e2', 'c2', 'u', [['A', 1]]), T0);
    await h.decide(confirm('e3', 'c2'), T0);
    expect(await h.stock('A')).toEqual({ total: 3, available: 0, held: 2, sold: 1, perUser: 0 });
    const res = await h.queueAdmin(h.r.pipeline(), restock('r2', 'A', 5), T0).exec();
    expect(res).toEqual([[null, ['restocked', '8']]]);
    expect(await h.stock('A')).toEqual({ total: 8, available: 5, held: 2, sold: 1, perUser: 0 });
    // Stock is immediately reservable.
    expect(await h.decide(reserve('e4', 'c4', 'u', [['A', 5]]), T0)).toMatchObject({
      status: 'reserved',
    });
    await h.checkAll();
  });

  it("is idempotent: a re-sent event_id is 'duplicate' and adds nothing", async () => {
    const h = f.harness();
    expect(await h.admin(restock('r1', 'A', 4), T0)).toBe('restocked');
    expect(await h.admin(restock('r1', 'A', 4), T0 + 1)).toBe('duplicate');
    expect(await h.admin(restock('r1', 'B', 9), T0 + 2)).toBe('duplicate');
    expect(await h.stock('A')).toMatchObject({ total: 4, available: 4 });
    expect(await h.stock('B')).toBeUndefined();
    expect((await h.allLedger()).map((l) => l.change_id)).toEqual(['restock:r1']);
    await h.checkAll();
  });

  it('keeps admin and checkout event ids apart (separate input streams)', async () => {
    const h = f.harness();
    expect(await h.admin(restock('same', 'A', 4), T0)).toBe('restocked');
    expect(await h.decide(reserve('same', 'c1', 'u', [['A', 1]]), T0)).toMatchObject({
      status: 'reserved',
    });
    expect(await h.admin(restock('same', 'A', 4), T0)).toBe('duplicate');
    await h.checkAll();
  });

  it('counts concurrent restocks exactly once each', async () => {
    const h = f.harness();
    const clients = f.clients(4);
    await Promise.all(
      clients.map(async (c, k) => {
        const p = c.pipeline();
        // Every client sends all 20 events: each must count once.
        for (let i = 0; i < 20; i++)
          h.queueAdmin(p, restock(`r${(i + k * 5) % 20}`, 'A', 1 + (((i + k * 5) % 20) % 3)), T0);
        await p.exec();
      }),
    );
    const expected = Array.from({ length: 20 }, (_, i) => 1 + (i % 3)).reduce((a, b) => a + b, 0);
    expect(await h.stock('A')).toEqual({
      total: expected,
      available: expected,
      held: 0,
      sold: 0,
      perUser: 0,
    });
    expect(await h.allLedger()).toHaveLength(20);
    await h.checkAll();
  });
});
