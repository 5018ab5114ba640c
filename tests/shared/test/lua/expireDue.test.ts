/**
 * expireDue-5.lua against a real Redis: releases only due holds, writes one 'expired' outcome
 * (unique event_id) and one 'expire' ledger entry per expiry, and never releases a hold twice,
 * also when several connections sweep at once.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '@holdfast/testkit';
import {
  CFG,
  T0,
  assertConservation,
  cancel,
  confirm,
  extend,
  fileEnv,
  readShardCounters,
  reserve,
  restock,
} from '@holdfast/testkit/gate';

const f = fileEnv();

describe('expireDue', () => {
  it('releases only holds whose deadline has passed (deadline inclusive)', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 10), T0);
    await h.admin(restock('r2', 'B', 10), T0);
    await h.decide(reserve('e1', 'c10', 'u1', [['A', 1]], 10), T0); // due T0+10s
    await h.decide(
      reserve(
        'e2',
        'c20',
        'u2',
        [
          ['A', 2],
          ['B', 2],
        ],
        20,
      ),
      T0,
    ); // due T0+20s
    await h.decide(reserve('e3', 'c30', 'u3', [['B', 3]], 30), T0); // due T0+30s

    expect(await h.expireDue(T0 + 9_999)).toEqual({ count: 0, expired: [] });
    expect(await h.newOutcomes()).toEqual([]);

    const r = await h.expireDue(T0 + 20_000);
    expect(r.count).toBe(2);
    expect(r.expired.map((e) => e.checkoutId)).toEqual(['c10', 'c20']);
    expect(await h.stock('A')).toEqual({ total: 10, available: 10, held: 0, sold: 0, perUser: 0 });
    expect(await h.stock('B')).toEqual({ total: 10, available: 7, held: 3, sold: 0, perUser: 0 });
    expect((await h.hold('c30'))?.state).toBe('active');
    expect(await h.usage('u2', 'B')).toBe(0);

    // Nothing more is due yet; calling again changes nothing.
    expect((await h.expireDue(T0 + 20_000)).count).toBe(0);
    expect((await h.expireDue(T0 + 30_000)).expired.map((e) => e.checkoutId)).toEqual(['c30']);
    await h.checkAll();
  });

  it('writes an expired outcome per expiry with a unique event_id and matching ledger change_id', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 10), T0);
    for (let i = 0; i < 5; i++) await h.decide(reserve(`e${i}`, `c${i}`, 'u', [['A', 1]]), T0 + i);
    const r = await h.expireDue(T0 + 10 * 60_000);
    const ids = r.expired.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(5);
    for (const e of r.expired)
      expect(e.eventId).toMatch(new RegExp(`^expired:${e.checkoutId}:\\d+$`));
    const outs = (await h.allOutcomes()).filter((o) => o.f.status === 'expired');
    expect(outs.map((o) => o.f.event_id)).toEqual(ids);
    // Expiry outcomes carry no reason and no expires_at (the hold is no longer active).
    for (const o of outs)
      expect(o.names).toEqual(['event_id', 'checkout_id', 'type', 'status', 'shard', 'at']);
    await h.checkAll();
  });

  it('respects the limit, oldest deadline first', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 10), T0);
    for (let i = 0; i < 5; i++)
      await h.decide(reserve(`e${i}`, `c${i}`, 'u', [['A', 1]], 10 + i), T0);
    const now = T0 + 60_000;
    expect((await h.expireDue(now, 2)).expired.map((e) => e.checkoutId)).toEqual(['c0', 'c1']);
    expect((await h.expireDue(now, 2)).expired.map((e) => e.checkoutId)).toEqual(['c2', 'c3']);
    expect((await h.expireDue(now, 2)).expired.map((e) => e.checkoutId)).toEqual(['c4']);
    expect((await h.expireDue(now, 2)).count).toBe(0);
    await h.checkAll();
  });

  it('skips confirmed, cancelled and extended holds', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 10), T0);
    for (const c of ['conf', 'canc', 'ext', 'plain'])
      await h.decide(reserve(`r-${c}`, c, 'u', [['A', 1]], 10), T0);
    await h.decide(confirm('x1', 'conf'), T0 + 1);
    await h.decide(cancel('x2', 'canc'), T0 + 1);
    await h.decide(extend('x3', 'ext', 60), T0 + 1);
    expect((await h.expireDue(T0 + 10_000)).expired.map((e) => e.checkoutId)).toEqual(['plain']);
    expect(await h.stock('A')).toEqual({ total: 10, available: 8, held: 1, sold: 1, perUser: 0 });
    await h.checkAll();
  });

  it('never releases a hold twice when several connections sweep concurrently', async () => {
    const h = f.harness();
    const clients = f.clients(5);
    await h.admin(restock('r1', 'A', 1_000), T0);
    await h.admin(restock('r2', 'B', 1_000), T0);
    const N = 60;
    const p = h.r.pipeline();
    for (let i = 0; i < N; i++) {
      h.queue(
        p,
        reserve(
          `e${i}`,
          `c${i}`,
          `u${i % 7}`,
          [
            ['A', 1 + (i % 3)],
            ['B', 2],
          ],
          10 + (i % 5),
        ),
        T0,
      );
    }
    const res = (await p.exec())!;
    expect(res.every(([err, v]) => !err && (v as string[])[0] === 'reserved')).toBe(true);
    const total = await h.checkAll();
    const ledgerBefore = (await h.allLedger()).length;
    const outcomesBefore = (await h.allOutcomes()).length;

    const now = T0 + 60_000;
    const sweep = (c: (typeof clients)[number]) => async () => {
      let n = 0;
      for (;;) {
        const k = await h.gate.expireDue(c, 4, now);
        assertConservation(await readShardCounters(c, h.keys), 'during concurrent sweep');
        if (k === 0) return n;
        n += k;
      }
    };
    const counts = await Promise.all(clients.map((c) => sweep(c)()));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(N);
    // A second concurrent round finds nothing.
    expect(await Promise.all(clients.map((c) => h.gate.expireDue(c, 100, now + 1)))).toEqual([
      0, 0, 0, 0, 0,
    ]);

    const s = await h.checkAll();
    expect(s.get('A')).toEqual({ ...total.get('A')!, available: 1_000, held: 0 });
    expect(s.get('B')).toEqual({ ...total.get('B')!, available: 1_000, held: 0 });
    const outs = (await h.allOutcomes()).slice(outcomesBefore);
    expect(outs).toHaveLength(N);
    expect(new Set(outs.map((o) => o.f.checkout_id)).size).toBe(N);
    expect(new Set(outs.map((o) => o.f.event_id)).size).toBe(N);
    const leds = (await h.allLedger()).slice(ledgerBefore);
    expect(leds).toHaveLength(N);
    expect(leds.every((l) => l.kind === 'expire')).toBe(true);
  });

  it('races cancels and confirms against concurrent sweeps: each hold is finished exactly once', async () => {
    const h = f.harness();
    const clients = f.clients(4);
    await h.admin(restock('r1', 'A', 500), T0);
    const N = 40;
    const p = h.r.pipeline();
    for (let i = 0; i < N; i++) h.queue(p, reserve(`e${i}`, `c${i}`, 'u', [['A', 2]], 10), T0);
    await p.exec();
    const deadline = T0 + 10_000;
    // Cancels past the deadline are accepted unless the sweep got there first; confirms past the
    // deadline are always rejected (hold_expired, or hold_cancelled once a cancel won).
    const work = clients.map(async (c, k) => {
      if (k < 2) {
        let n = 0;
        for (;;) {
          const got = await h.gate.expireDue(c, 3, deadline + 1);
          if (!got) return n;
          n += got;
        }
      }
      const q = c.pipeline();
      for (let i = 0; i < N; i++) {
        h.queue(q, k === 2 ? cancel(`k${i}`, `c${i}`) : confirm(`f${i}`, `c${i}`), deadline + 1);
      }
      return (await q.exec())!.map(([, v]) => (v as string[]).join('/'));
    });
    const [a, b, cancels, confirms] = (await Promise.all(work)) as [
      number,
      number,
      string[],
      string[],
    ];
    for (const c of confirms)
      expect(['rejected/hold_expired/', 'rejected/hold_cancelled/']).toContain(c);
    const cancelled = cancels.filter((c) => c === 'cancelled//').length;
    expect(cancels.every((c) => c === 'cancelled//' || c === 'rejected/hold_expired/')).toBe(true);
    expect(a + b + cancelled).toBe(N);
    const s = await h.checkAll();
    expect(s.get('A')).toMatchObject({ available: 500, held: 0, sold: 0 });
    const finals = (await h.allOutcomes()).filter(
      (o) => o.f.status === 'cancelled' || o.f.status === 'expired',
    );
    expect(finals).toHaveLength(N);
    expect(new Set(finals.map((o) => o.f.checkout_id)).size).toBe(N);
  });

  it('gives a reused checkout id a new expiry event_id (hold generation)', async () => {
    const h = f.harness({ ...CFG, finishedHoldTtlSeconds: 1 }, { finishedHoldsKept: false });
    await h.admin(restock('r1', 'A', 10), T0);
    await h.decide(reserve('e1', 'c1', 'u', [['A', 1]]), T0);
    const first = await h.expireDue(T0 + 60_000);
    // The finished hold is kept (for precise reasons) only for its TTL.
    expect(await h.decide(reserve('e2', 'c1', 'u', [['A', 1]]), T0 + 61_000)).toMatchObject({
      reason: 'hold_exists',
    });
    await waitFor(async () => (await h.r.exists(h.sk.hold('c1'))) === 0, {
      what: 'finished hold TTL',
    });
    expect(await h.decide(reserve('e3', 'c1', 'u', [['A', 1]]), T0 + 62_000)).toMatchObject({
      status: 'reserved',
    });
    const second = await h.expireDue(T0 + 200_000);
    expect(first.expired).toHaveLength(1);
    expect(second.expired).toHaveLength(1);
    expect(second.expired[0]!.eventId).not.toBe(first.expired[0]!.eventId);
    const changeIds = (await h.allLedger())
      .filter((l) => l.kind === 'expire')
      .map((l) => l.change_id);
    expect(new Set(changeIds).size).toBe(2);
    await h.checkAll();
  });
});
