/**
 * decideMany-5.lua (the reserver's batch path) against a real Redis: for any sequence of checkout
 * commands, deciding their S in payloads in batches gives exactly what deciding them one by one
 * gives — the same replies, outcomes, ledger entries and counters, hold lengths clamped the same
 * way — an event whose decision raises an error does not stop the rest of its batch, and a
 * malformed payload is refused without a write.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Gate, type CheckoutCommand } from '@holdfast/shared';
import { Keys } from '@holdfast/shared';
import { CFG, T0, fileEnv, readShardCounters, restock, xrangeAfter } from '@holdfast/testkit/gate';
import { randomId } from '@holdfast/testkit';

const f = fileEnv();
const SKUS = ['A', 'B', 'C'];

const command = (n: number): fc.Arbitrary<CheckoutCommand> => {
  const checkout = fc.integer({ min: 0, max: 7 }).map((c) => `c${c}`);
  const id = fc.constant(`e${n}`);
  return fc.oneof(
    fc.record({
      type: fc.constant('reserve' as const),
      eventId: id,
      checkoutId: checkout,
      userId: fc.constantFrom('u1', 'u2', 'u3'),
      lines: fc.uniqueArray(fc.tuple(fc.constantFrom(...SKUS), fc.integer({ min: 1, max: 4 })), {
        minLength: 1,
        maxLength: 3,
        selector: (l) => l[0],
      }),
      holdSeconds: fc.constantFrom(undefined, 1, 15, 90, 100_000),
    }),
    fc.record({
      type: fc.constantFrom('confirm' as const, 'cancel' as const),
      eventId: id,
      checkoutId: checkout,
    }),
    fc.record({
      type: fc.constant('extend' as const),
      eventId: id,
      checkoutId: checkout,
      holdSeconds: fc.constantFrom(undefined, 5, 100, 100_000),
    }),
  );
};

async function armed(ns: string) {
  const h = f.harness();
  const keys = new Keys(ns, 'main');
  const gate = new Gate(keys, CFG);
  for (const [i, sku] of SKUS.entries()) {
    await gate.admin(h.r, { type: 'restock', eventId: `a${i}`, sku, qty: 8 });
  }
  await gate.admin(h.r, { type: 'set_limit', eventId: 'l', sku: 'B', perUser: 3 });
  return { r: h.r, keys, gate };
}

async function view(r: Awaited<ReturnType<typeof armed>>) {
  const strip = (e: { f: Record<string, string> }) => {
    const { at: _at, ...rest } = e.f;
    return rest;
  };
  return {
    outcomes: (await xrangeAfter(r.r, r.keys.shard().outcomes, undefined)).map(strip),
    ledger: (await xrangeAfter(r.r, r.keys.shard().ledger, undefined)).map(strip),
    stock: [...(await readShardCounters(r.r, r.keys)).entries()],
  };
}

describe('decideMany', () => {
  it('decides a batch exactly as the one-event scripts decide it one by one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 5, max: 40 })
          .chain((n) =>
            fc.tuple(
              fc.tuple(...Array.from({ length: n }, (_, i) => command(i))),
              fc.integer({ min: 1, max: 12 }),
            ),
          ),
        async ([cmds, batch]) => {
          // Re-send a few events (duplicates must come back 'duplicate' both ways).
          const all = [...cmds, ...cmds.filter((_, i) => i % 7 === 3)];
          const many = await armed(`${f.env.namespace}${randomId()}:`);
          const batched = [];
          for (let i = 0; i < all.length; i += batch) {
            // One clock per batch, as the reserver has: give each one-by-one event the same.
            const chunk = all.slice(i, i + batch);
            batched.push(...(await many.gate.decideMany(many.r, chunk, T0 + i * 5_000)));
          }
          // Compare with a one-by-one run on the batched clock.
          const again = await armed(`${f.env.namespace}${randomId()}:`);
          const byOne = [];
          for (let i = 0; i < all.length; i += batch) {
            for (const c of all.slice(i, i + batch))
              byOne.push(await again.gate.decide(again.r, c, T0 + i * 5_000));
          }
          // The script echoes each event's type and source entry id; the rest is the decision.
          expect(batched.map((d) => (d instanceof Error ? d : d.type))).toEqual(
            all.map((c) => c.type),
          );
          expect(batched.every((d) => d instanceof Error || d.srcId === '0-1')).toBe(true);
          const bare = batched.map((d) => {
            if (d instanceof Error) return d;
            const { type: _t, srcId: _s, ...decision } = d;
            return decision;
          });
          expect(bare).toEqual(byOne);
          expect(await view(many)).toEqual(await view(again));
          expect(batched).toHaveLength(all.length);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('an event that raises an error gets an error in its slot; the rest of the batch is decided', async () => {
    const r = await armed(`${f.env.namespace}${randomId()}:`);
    const res = await r.gate.decideMany(
      r.r,
      [
        { type: 'reserve', eventId: 'x1', checkoutId: 'k1', userId: 'u', lines: [['A', 1]] },
        { type: 'reserve', eventId: 'x2', checkoutId: 'k2', userId: 'u', lines: [['A', 1.5]] },
        { type: 'reserve', eventId: 'x3', checkoutId: 'k3', userId: 'u', lines: [['A', 2]] },
      ],
      T0,
    );
    expect(res[0]).toMatchObject({ status: 'reserved' });
    expect(res[1]).toBeInstanceOf(Error);
    expect(String(res[1])).toMatch(/qty must be a positive integer/);
    expect(res[2]).toMatchObject({ status: 'reserved' });
    const stock = await readShardCounters(r.r, r.keys);
    expect(stock.get('A')).toMatchObject({ available: 5, held: 3 });
  });

  it('refuses a malformed payload in its slot without a write; the rest of the batch is decided', async () => {
    const r = await armed(`${f.env.namespace}${randomId()}:`);
    const good = (id: string) =>
      JSON.stringify({ t: 'reserve', e: id, c: `k-${id}`, u: 'u', l: [['A', 1]], s: '1-0' });
    const bad = [
      'not json',
      '"a string"',
      JSON.stringify({ t: 'reserve', e: 'b1', c: 'k', u: 'u', s: '1-0' }), // no lines
      JSON.stringify({ t: 'reserve', e: 'b2', c: 'k', l: [['A', 1]], s: '1-0' }), // no user
      JSON.stringify({ t: 'reserve', e: 'b3', c: 'k', u: 'u', l: [], s: '1-0' }), // empty cart
      JSON.stringify({ t: 'reserve', e: 'b4', c: 'k', u: 'u', l: [[1, 1]], s: '1-0' }), // sku
      JSON.stringify({ t: 'reserve', e: 'b5', c: 'k', u: 'u', l: [['A', 0]], s: '1-0' }), // qty
      JSON.stringify({ t: 'restock', e: 'b6', c: 'k', s: '1-0' }),
      JSON.stringify({ t: 'confirm', c: 'k', s: '1-0' }), // no event id
      JSON.stringify({ t: 'confirm', e: 'b7', c: 'k' }), // no source id
      JSON.stringify({ t: 'extend', e: 'b8', c: 'k', h: 1.5, s: '1-0' }),
      JSON.stringify({ t: 'extend', e: 'b9', c: 'k', h: '30', s: '1-0' }),
    ];
    const res = await r.gate.decidePayloads(r.r, [good('x1'), ...bad, good('x2')], T0);
    expect(res).toHaveLength(bad.length + 2);
    expect(res[0]).toMatchObject({ status: 'reserved', type: 'reserve', srcId: '1-0' });
    expect(res[res.length - 1]).toMatchObject({ status: 'reserved' });
    for (const [i, payload] of bad.entries()) {
      const d = res[i + 1];
      expect(d, payload).toBeInstanceOf(Error);
      expect(String((d as Error).message), payload).toMatch(/^ERR bad_event: /);
    }
    // Only the two good events wrote anything.
    expect((await readShardCounters(r.r, r.keys)).get('A')).toMatchObject({
      available: 6,
      held: 2,
    });
    expect(await r.r.xlen(r.keys.shard().outcomes)).toBe(2);
    expect(await r.r.xlen(r.keys.shard().ledger)).toBe(2 + 3 + 1); // + restocks + limit
    for (const id of ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8', 'b9'])
      expect(await r.r.exists(r.keys.shard().event(id)), id).toBe(0);
  });

  it('any payload at all is refused with nothing written, or decided with every invariant intact', async () => {
    // The reserver hands S in payloads to the script unparsed, so the script is the last line of
    // defence: mutate valid payloads (any JSON value in any field, odd numbers in carts) and mix
    // in arbitrary strings; whatever comes back, stock, ledger, holds and outcomes must agree.
    let n = 0;
    const valid = fc
      .record({
        t: fc.constantFrom('reserve', 'confirm', 'cancel', 'extend'),
        c: fc.integer({ min: 0, max: 59 }).map((i) => `k${i}`),
        u: fc.constantFrom('u1', 'u2'),
        l: fc.uniqueArray(fc.tuple(fc.constantFrom('A', 'B'), fc.integer({ min: 1, max: 3 })), {
          minLength: 1,
          maxLength: 2,
          selector: (x) => x[0],
        }),
        h: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
      })
      .map((p) => ({ ...p, e: `f${n++}`, s: '1-0' }) as Record<string, unknown>);
    const odd = fc.constantFrom(
      '1e999',
      '-1e999',
      '0',
      '-1',
      '1.5',
      '"2"',
      'null',
      '[]',
      '{}',
      '[1]',
    );
    const mutated = fc.oneof(
      // one field replaced by any JSON value, or removed
      fc
        .tuple(valid, fc.constantFrom('t', 'e', 'c', 'u', 'l', 'h', 's'), fc.option(fc.jsonValue()))
        .map(([p, k, v]) => {
          const q = { ...p };
          if (v === null) delete q[k];
          else q[k] = v;
          return JSON.stringify(q);
        }),
      // an odd number or value where the cart's qty goes, or an extra item in a line
      fc
        .tuple(valid, odd, fc.boolean())
        .map(([p, v, extra]) =>
          JSON.stringify({ ...p, t: 'reserve' }).replace(
            /(\[\["[AB]",)(\d+)\]/,
            extra ? `$1$2,${v}]` : `$1${v}]`,
          ),
        ),
      fc.string(),
    );
    const payload = fc.oneof(
      valid.map((p) => JSON.stringify(p)),
      mutated,
    );
    const h = f.harness();
    await h.admin(restock('ra', 'A', 400), T0);
    await h.admin(restock('rb', 'B', 400), T0);
    for (let i = 0; i < 60; i++) h.seenCheckouts.add(`k${i}`);
    for (const u of ['u1', 'u2']) h.seenUsers.add(u);
    let batch = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { minLength: 1, maxLength: 15 }), async (payloads) => {
        const res = await h.gate.decidePayloads(h.r, payloads, T0 + ++batch * 1_000);
        expect(res).toHaveLength(payloads.length);
        for (const [i, d] of res.entries()) {
          if (d instanceof Error) expect(d.message, payloads[i]).toMatch(/^ERR bad_event: /);
        }
        await h.checkAll(`batch ${batch}`);
      }),
      { numRuns: 60 },
    );
  });
});
