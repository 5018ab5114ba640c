/**
 * Property: for any sequence of valid state changes (as the reserver would emit them), split
 * into random batches with random redelivery (whole batches again, single earlier entries, the
 * same entry twice in one batch, shuffled order), the books end equal to the model, with one
 * ledger row per (change, sku) and no incident.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyLedgerBatch, type LedgerEntry } from './apply-batch.js';
import { EntryFactory, Model, count, readStock, freshDb, type Db } from '../test/ledger-helpers.js';

let db: Db;
beforeAll(async () => {
  db = await freshDb();
});
afterAll(async () => {
  await db?.close();
});

type Op = {
  op: 'restock' | 'reserve' | 'confirm' | 'cancel' | 'expire' | 'extend' | 'set_limit';
  sku: number;
  width: number;
  qty: number;
  pick: number;
};

const opArb: fc.Arbitrary<Op> = fc.record({
  op: fc.constantFrom(
    'restock',
    'reserve',
    'reserve',
    'confirm',
    'cancel',
    'expire',
    'extend',
    'set_limit',
  ),
  sku: fc.nat(4),
  width: fc.integer({ min: 1, max: 3 }),
  qty: fc.integer({ min: 1, max: 6 }),
  pick: fc.nat(),
});

/** Plays `ops` like the reserver would (only valid changes are emitted). */
function simulate(ops: Op[], prefix: string): LedgerEntry[] {
  const f = new EntryFactory(prefix);
  const skus = Array.from({ length: 5 }, (_, i) => `${prefix}S${i}`);
  const avail = new Map(skus.map((s) => [s, 0]));
  const holds: Array<{ id: string; lines: Array<[string, number]>; gen: number }> = [];
  const out: LedgerEntry[] = [];
  let holdNo = 0;
  for (const o of ops) {
    const sku = skus[o.sku]!;
    switch (o.op) {
      case 'restock':
        avail.set(sku, avail.get(sku)! + o.qty);
        out.push(f.restock(sku, o.qty));
        break;
      case 'set_limit':
        out.push(f.setLimit(sku, o.pick % 5));
        break;
      case 'reserve': {
        const lines = [
          ...new Set(Array.from({ length: o.width }, (_, i) => skus[(o.sku + i) % 5]!)),
        ].map((s) => [s, o.qty] as [string, number]);
        if (lines.some(([s, q]) => avail.get(s)! < q)) break; // out_of_stock: no change
        lines.forEach(([s, q]) => avail.set(s, avail.get(s)! - q));
        const id = `${prefix}c${++holdNo}`;
        holds.push({ id, lines, gen: 1 });
        out.push(f.reserve(id, lines));
        break;
      }
      default: {
        if (!holds.length) break;
        const i = o.pick % holds.length;
        const h = holds[i]!;
        if (o.op === 'extend') {
          out.push(
            f.extend(
              h.id,
              h.lines.map(([s]) => s),
            ),
          );
          break;
        }
        holds.splice(i, 1);
        if (o.op === 'confirm') out.push(f.confirm(h.id, h.lines));
        else {
          h.lines.forEach(([s, q]) => avail.set(s, avail.get(s)! + q));
          out.push(o.op === 'cancel' ? f.cancel(h.id, h.lines) : f.expire(h.id, h.lines, h.gen));
        }
      }
    }
  }
  return out;
}

let run = 0;

describe('applyLedgerBatch property', () => {
  it('random valid changes, random batches, random redelivery: the books equal the model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 10 }),
        fc.array(
          fc.record({
            again: fc.boolean(),
            extra: fc.array(fc.nat(), { maxLength: 4 }),
            reverse: fc.boolean(),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        async (ops, sizes, redeliveries) => {
          const prefix = `p${++run}-`;
          const shard = `prop${run}`;
          const entries = simulate(ops, prefix);
          const model = new Model();
          entries.forEach((e) => model.apply(e));

          let pos = 0;
          let k = 0;
          let prev: LedgerEntry[] = [];
          let applied = 0;
          while (pos < entries.length) {
            const size = sizes[k % sizes.length]!;
            const r = redeliveries[k % redeliveries.length]!;
            k++;
            const fresh = entries.slice(pos, pos + size);
            pos += fresh.length;
            // Redelivered: single earlier entries (possibly of this very batch, i.e. twice).
            const extra = r.extra.map((x) => entries[x % pos]!);
            let batch = [...fresh, ...extra];
            if (r.reverse) batch = batch.reverse();
            const res = await applyLedgerBatch(db.pool, shard, batch, { maxAttempts: 1 });
            expect(res.incidents).toEqual([]);
            applied += res.applied;
            // A crash before the ack: the whole previous batch comes again.
            if (r.again && prev.length) {
              const re = await applyLedgerBatch(db.pool, shard, prev, { maxAttempts: 1 });
              expect(re).toMatchObject({ applied: 0, rowsWritten: 0, incidents: [] });
            }
            prev = batch;
          }

          expect(applied).toBe(entries.length);
          const skus = [...model.stock.keys()];
          const stock = await readStock(db.pool, skus);
          for (const s of skus) expect(stock.get(s), s).toEqual(model.stock.get(s));
          expect(
            await count(db.pool, 'SELECT COUNT(*) FROM inventory_ledger WHERE shard = ?', [shard]),
          ).toBe(model.rows);
        },
      ),
      { numRuns: 40 },
    );
  });
});
