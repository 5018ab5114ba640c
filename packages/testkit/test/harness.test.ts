/**
 * The checks of the gate harness (../src/gate) must bite: tampering with a counter, the ledger or holds:due is
 * caught (so a green suite means something).
 */
import { describe, expect, it } from 'vitest';
import { T0, ZERO, assertConservation, fileEnv, reserve, restock } from '../src/gate/index.js';

const f = fileEnv();

describe('test helpers', () => {
  it('assertConservation rejects every broken invariant', () => {
    const ok = { total: 10, available: 5, held: 3, sold: 2, perUser: 0 };
    expect(() => assertConservation(new Map([['A', ok]]))).not.toThrow();
    expect(() => assertConservation(new Map([['A', { ...ok, available: 6 }]]))).toThrow(
      /conservation/,
    );
    expect(() =>
      assertConservation(new Map([['A', { ...ZERO, total: 1, available: -1, held: 2 }]])),
    ).toThrow(/available ≥ 0/);
    expect(() =>
      assertConservation(new Map([['A', { ...ZERO, total: 1, held: 2, available: -1 }]])),
    ).toThrow();
  });

  it('the harness catches tampered counters, ledger entries and deadlines', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 5), T0);
    await h.decide(reserve('e1', 'c1', 'u', [['A', 2]]), T0);
    await h.checkAll();

    await h.r.hincrby(h.sk.stock('A'), 'available', 1);
    await expect(h.checkConservation()).rejects.toThrow(/conservation/);
    await h.r.hincrby(h.sk.stock('A'), 'total', 1);
    await h.checkConservation();
    await expect(h.checkLedgerSums()).rejects.toThrow(/ledger sums/);
    await h.r.xadd(
      h.sk.ledger,
      '*',
      'change_id',
      'x',
      'kind',
      'restock',
      'event_id',
      'x',
      'checkout_id',
      '',
      'at',
      '0',
      'lines',
      '[["A",1,1,0,0]]',
    );
    await h.checkLedgerSums();
    await h.r.xadd(
      h.sk.ledger,
      '*',
      'change_id',
      'x',
      'kind',
      'restock',
      'event_id',
      'x',
      'checkout_id',
      '',
      'at',
      '0',
      'lines',
      '[["A",0,0,0,0]]',
    );
    await expect(h.checkLedgerSums()).rejects.toThrow(/unique/);

    const h2 = f.harness();
    await h2.admin(restock('r1', 'A', 5), T0);
    await h2.decide(reserve('e1', 'c1', 'u', [['A', 2]]), T0);
    await h2.r.zadd(h2.sk.holdsDue, T0 + 1, 'c1');
    await expect(h2.checkHolds()).rejects.toThrow(/holds:due/);
    await h2.r.zrem(h2.sk.holdsDue, 'c1');
    await expect(h2.checkHolds()).rejects.toThrow(/holds:due/);
    await h2.r.hincrby(h2.sk.usage('u'), 'A', 1);
    await expect(h2.checkHolds()).rejects.toThrow();
  });
});
