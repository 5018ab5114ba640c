/**
 * Property test, sequential: random sequences of reserve / confirm / cancel / extend /
 * expireDue / restock / set_limit and re-sent events, with an advancing fake clock, run one at a
 * time against the real Redis. A plain model (./model.ts) predicts every decision exactly
 * (status, reason, expires_at) and the counters after every step.
 *
 * Checked after every step (by the harness): invariants 1 and 2 (conservation, no oversell),
 * one outcome per decided event and one ledger entry per state change with the documented
 * deltas, ledger sums = counters, holds:due / held / sold / usage consistent with the holds;
 * invariant 3 (a re-sent event_id is 'duplicate' and changes nothing); and at the end
 * invariant 5 (past every deadline plus one expireDue, no active hold and held = 0).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AdminCommand, CheckoutCommand } from '@holdfast/shared';
import { CFG, T0, fileEnv } from '@holdfast/testkit/gate';
import { Model } from './model.js';

const f = fileEnv();

const SKUS = ['A', 'B', 'C'];
/** Index 3 names a SKU that never exists (unknown_sku). */
const skuName = (i: number) => SKUS[i] ?? 'X';

type Op =
  | {
      t: 'reserve';
      dt: number;
      fresh: boolean;
      pick: number;
      user: number;
      lines: Array<[number, number]>;
      hold: number | undefined;
    }
  | { t: 'confirm' | 'cancel' | 'extend'; dt: number; pick: number; hold: number | undefined }
  | { t: 'expire'; dt: number; limit: number }
  | { t: 'restock'; dt: number; sku: number; qty: number }
  | { t: 'setLimit'; dt: number; sku: number; perUser: number }
  | { t: 'dup'; dt: number; pick: number; mutate: boolean };

const dtArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 20_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 150_000 }) },
);
const holdArb = fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined, freq: 2 });
const linesArb = fc.uniqueArray(
  fc.tuple(
    fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: 0, max: 2 }) },
      { weight: 1, arbitrary: fc.constant(3) },
    ),
    fc.integer({ min: 1, max: 4 }),
  ),
  { minLength: 1, maxLength: 3, selector: (l) => l[0] },
);

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('reserve' as const),
      dt: dtArb,
      fresh: fc.boolean().chain((b) => (b ? fc.constant(true) : fc.boolean())),
      pick: fc.nat(),
      user: fc.integer({ min: 0, max: 3 }),
      lines: linesArb,
      hold: holdArb,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constantFrom('confirm' as const, 'cancel' as const, 'extend' as const),
      dt: dtArb,
      pick: fc.nat(),
      hold: holdArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('expire' as const),
      dt: dtArb,
      limit: fc.constantFrom(1, 2, 1000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('restock' as const),
      dt: dtArb,
      sku: fc.integer({ min: 0, max: 2 }),
      qty: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('setLimit' as const),
      dt: dtArb,
      sku: fc.integer({ min: 0, max: 2 }),
      perUser: fc.integer({ min: 0, max: 6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('dup' as const),
      dt: dtArb,
      pick: fc.nat(),
      mutate: fc.boolean(),
    }),
  },
);

const setupArb = fc.record({
  stock: fc.tuple(fc.nat(15), fc.nat(15), fc.nat(15)),
  limits: fc.tuple(fc.nat(4), fc.nat(4), fc.nat(4)),
});

/** A seed whose first COVERAGE_RUNS samples reach every status and reason (seed 2 does not). */
const COVERAGE_SEED = 1;
const COVERAGE_RUNS = 20;

type Sent = { kind: 'checkout'; cmd: CheckoutCommand } | { kind: 'admin'; cmd: AdminCommand };

describe('gate (sequential, model-predicted)', () => {
  it('predicts every decision and every counter; invariants 1, 2, 3, 5 hold', async () => {
    let runs = 0;
    const seen = new Map<string, number>();
    // Coverage is counted over the pinned runs only (fast-check runs `examples` first).
    const note = (k: string) => {
      if (runs <= COVERAGE_RUNS) seen.set(k, (seen.get(k) ?? 0) + 1);
    };
    const opsArb = fc.array(opArb, { minLength: 5, maxLength: 60, size: 'max' });
    await fc.assert(
      fc.asyncProperty(setupArb, opsArb, async (setup, ops) => {
        const h = f.harness();
        const model = new Model(CFG);
        try {
          runs++;
          let now = T0;
          let ev = 0;
          let nextCid = 0;
          const cids: string[] = [];
          /** Checkouts that got a hold at some point. */
          const held: string[] = [];
          const sent: Sent[] = [];
          const expiredIds: string[] = [];

          const admin = async (cmd: AdminCommand) => {
            const want = model.admin(cmd);
            expect(await h.admin(cmd, now), `${cmd.type} ${cmd.eventId}`).toBe(want);
            sent.push({ kind: 'admin', cmd });
          };
          const decide = async (cmd: CheckoutCommand) => {
            const want = model.decide(cmd, now);
            expect(await h.decide(cmd, now), `${JSON.stringify(cmd)} @+${now - T0}`).toEqual(want);
            note(`${cmd.type}:${want.status}:${want.reason ?? ''}`);
            sent.push({ kind: 'checkout', cmd });
            return want;
          };

          for (let i = 0; i < 3; i++) {
            if (setup.stock[i]! > 0)
              await admin({
                type: 'restock',
                eventId: `a${++ev}`,
                sku: SKUS[i]!,
                qty: setup.stock[i]!,
              });
            if (setup.limits[i]! > 0)
              await admin({
                type: 'set_limit',
                eventId: `a${++ev}`,
                sku: SKUS[i]!,
                perUser: setup.limits[i]!,
              });
          }

          for (const op of ops) {
            now += op.dt;
            switch (op.t) {
              case 'reserve': {
                const cid =
                  op.fresh || cids.length === 0 ? `c${++nextCid}` : cids[op.pick % cids.length]!;
                if (!cids.includes(cid)) cids.push(cid);
                const d = await decide({
                  type: 'reserve',
                  eventId: `e${++ev}`,
                  checkoutId: cid,
                  userId: `u${op.user}`,
                  lines: op.lines.map(([s, q]) => [skuName(s), q]),
                  holdSeconds: op.hold,
                });
                if (d.status === 'reserved') held.push(cid);
                break;
              }
              case 'confirm':
              case 'cancel':
              case 'extend': {
                // Mostly one of the 4 most recent checkouts (so holds meet several events), else
                // one that never had a hold.
                const k = op.pick % (Math.min(held.length, 4) + 1);
                const cid = held[held.length - 1 - k] ?? 'never-reserved';
                const cmd: CheckoutCommand =
                  op.t === 'extend'
                    ? {
                        type: 'extend',
                        eventId: `e${++ev}`,
                        checkoutId: cid,
                        holdSeconds: op.hold,
                      }
                    : { type: op.t, eventId: `e${++ev}`, checkoutId: cid };
                await decide(cmd);
                break;
              }
              case 'expire': {
                const want = model.expireDue(now, op.limit);
                const got = await h.expireDue(now, op.limit);
                expect(got.expired.map((e) => e.eventId)).toEqual(want);
                expiredIds.push(...want);
                if (want.length) note('expire:expired:');
                break;
              }
              case 'restock':
                await admin({
                  type: 'restock',
                  eventId: `a${++ev}`,
                  sku: SKUS[op.sku]!,
                  qty: op.qty,
                });
                break;
              case 'setLimit':
                await admin({
                  type: 'set_limit',
                  eventId: `a${++ev}`,
                  sku: SKUS[op.sku]!,
                  perUser: op.perUser,
                });
                break;
              case 'dup': {
                if (sent.length === 0) break;
                const s = sent[op.pick % sent.length]!;
                if (s.kind === 'admin') {
                  // Same event_id, possibly other content: still a duplicate.
                  const cmd: AdminCommand =
                    op.mutate && s.cmd.type === 'restock'
                      ? { ...s.cmd, qty: s.cmd.qty + 5 }
                      : s.cmd;
                  const want = model.admin(cmd);
                  expect(want).toBe('duplicate');
                  expect(await h.admin(cmd, now)).toBe('duplicate');
                } else {
                  const cmd: CheckoutCommand = op.mutate
                    ? { ...s.cmd, checkoutId: `c${++nextCid}` }
                    : s.cmd;
                  const want = model.decide(cmd, now);
                  expect(want).toEqual({ status: 'duplicate' });
                  expect(await h.decide(cmd, now)).toEqual(want);
                  note(`${cmd.type}:duplicate:`);
                }
                break;
              }
            }
            expect(await h.checkAll(op.t), `counters after ${op.t} @+${now - T0}`).toEqual(
              model.stock,
            );
          }

          // Invariant 5: past every possible deadline, one sweep leaves no active hold.
          now = Math.max(now, model.latestPossibleDeadline()) + 1;
          const want = model.expireDue(now, 1_000_000);
          const got = await h.expireDue(now, 1_000_000);
          expect(got.expired.map((e) => e.eventId)).toEqual(want);
          expiredIds.push(...want);
          const final = await h.checkAll('final');
          expect(final).toEqual(model.stock);
          for (const [sku, c] of final)
            expect(c.held, `held of ${sku} after the final sweep`).toBe(0);
          expect((await h.due()).size).toBe(0);
          const holds = await h.allHolds();
          expect([...holds.values()].filter((x) => x.state === 'active')).toEqual([]);
          expect(holds.size).toBe(model.holds.size);
          for (const [cid, mh] of model.holds) expect(holds.get(cid)?.state, cid).toBe(mh.state);

          // One outcome per decided event: the stream holds exactly the model's decisions.
          const outs = await h.allOutcomes();
          expect(outs.filter((o) => o.f.status === 'expired').map((o) => o.f.event_id)).toEqual(
            expiredIds,
          );
          expect(new Set(outs.map((o) => o.f.event_id)).size).toBe(outs.length);
        } finally {
          h.close();
        }
      }),
      // 40 random runs explore after the pinned ones (examples count within numRuns); the pinned
      // ones (drawn from a fixed seed, so the same every time)
      // are known to reach every status and reason below, so that check cannot fail by chance
      // (40 random runs once missed extend's hold_confirmed in CI).
      {
        numRuns: COVERAGE_RUNS + 40,
        examples: fc.sample(fc.tuple(setupArb, opsArb), {
          seed: COVERAGE_SEED,
          numRuns: COVERAGE_RUNS,
        }),
      },
    );
    expect(runs).toBeGreaterThanOrEqual(COVERAGE_RUNS + 40);
    // The generator must keep reaching every status and reason, else the property silently
    // tests less than it claims. (If the arbitraries change, pick a seed that reaches them all.)
    const expected = [
      'reserve:reserved:',
      'reserve:rejected:out_of_stock',
      'reserve:rejected:unknown_sku',
      'reserve:rejected:user_limit',
      'reserve:rejected:hold_exists',
      'reserve:duplicate:',
      ...(['confirm', 'cancel', 'extend'] as const).flatMap((t) => [
        `${t}:${{ confirm: 'confirmed', cancel: 'cancelled', extend: 'extended' }[t]}:`,
        `${t}:rejected:unknown_hold`,
        `${t}:rejected:hold_expired`,
        `${t}:rejected:hold_cancelled`,
        `${t}:rejected:hold_confirmed`,
        `${t}:duplicate:`,
      ]),
      'expire:expired:',
    ];
    expect([...seen.keys()].sort()).toEqual(expected.sort());
  });
});
