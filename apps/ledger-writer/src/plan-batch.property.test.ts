/**
 * The planner's rules, without MySQL: random batches (valid and malformed entries, repeats
 * within a batch, changes an earlier delivery applied or refused) against random books.
 *
 *   - a change planned alone applies iff every line that moves a counter leaves its row within
 *     every invariant (an oracle written from docs/mysql.md, not from the planner);
 *   - a batch plans exactly like its changes one by one in stream order, and its stock updates
 *     turn the locked rows into the planned ones;
 *   - a change never applies twice, however often it is delivered and re-planned;
 *   - the lock order is sorted by code point and covers every SKU the plan touches;
 *   - a refused change leaves the rows as if it were not in the batch;
 *   - rows that keep the invariants (available + held + sold = total, nothing negative) before
 *     keep them after, whatever the batch.
 *
 * The same rules against MariaDB: apply-batch.test.ts and apply-batch.property.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  LEDGER_KINDS,
  normalizeLedgerEntry,
  parseStreamId,
  type LedgerEntry,
  type LedgerLine,
} from './ledger-entry.js';
import {
  planBatch,
  prepareBatch,
  type BatchPlan,
  type LockedBooks,
  type StockRow,
  type StockUpdate,
} from './plan-batch.js';

const SHARD = 'prop';
const SAFE = Number.MAX_SAFE_INTEGER;
/** UTF-16 order and code-point order disagree on the last two. */
const SKUS = ['A', 'B', 'a', 'é', '\uFF01', '\u{1F600}'];

/** The invariants, as docs/mysql.md states them (independent of the planner's code). */
function keepsInvariants(r: StockRow): boolean {
  return (
    [r.total, r.available, r.held, r.sold].every(Number.isSafeInteger) &&
    r.available >= 0 &&
    r.held >= 0 &&
    r.sold >= 0 &&
    r.held + r.sold <= r.total &&
    r.available + r.held + r.sold === r.total
  );
}

/** Which invariant an incident names when a row breaks several: the first in this list. */
function reasonFor(r: StockRow): string {
  if (![r.total, r.available, r.held, r.sold].every(Number.isSafeInteger)) return 'out_of_range';
  if (r.available < 0) return 'negative_available';
  if (Math.min(r.held, r.sold, r.total) < 0) return 'negative_counter';
  if (r.held + r.sold > r.total) return 'oversold';
  return 'not_conserved';
}

const rowArb: fc.Arbitrary<StockRow> = fc
  .record({
    available: fc.oneof(
      { weight: 6, arbitrary: fc.nat(20) },
      { weight: 1, arbitrary: fc.constant(SAFE - 40) },
    ),
    held: fc.nat(10),
    sold: fc.nat(10),
    perUser: fc.nat(5),
  })
  .map((r) => ({ total: r.available + r.held + r.sold, ...r }));

const rowsArb = fc
  .tuple(...SKUS.map(() => rowArb))
  .map((rows) => new Map(rows.map((r, i) => [SKUS[i]!, r])));

const qty = fc.integer({ min: 1, max: 6 });
const d = fc.integer({ min: -3, max: 3 });
/** Deltas shaped like the reserver's changes, plus arbitrary and overflowing ones. */
type Deltas = [number, number, number, number];
const deltaArb: fc.Arbitrary<Deltas> = fc.oneof(
  qty.map((q): Deltas => [q, q, 0, 0]), // restock
  qty.map((q): Deltas => [0, -q, q, 0]), // reserve
  qty.map((q): Deltas => [0, 0, -q, q]), // confirm
  qty.map((q): Deltas => [0, q, -q, 0]), // cancel, expire
  fc.constant<Deltas>([0, 0, 0, 0]), // extend, set_limit
  fc.tuple(d, d, d, d), // anything (mostly not conserving)
  fc.tuple(fc.nat(3), d).map(([i, x]) => [0, 0, 0, 0].map((z, k) => (k === i ? x : z)) as Deltas),
  fc.constant<Deltas>([SAFE, SAFE, 0, 0]), // beyond 2^53 on any non-empty row
);

/** What makes an entry malformed (normalizeLedgerEntry refuses it). */
const BREAKS = ['stream_id', 'sku', 'delta', 'kind', 'per_user'] as const;

interface Shape {
  ms: number;
  seq: number;
  kind: LedgerEntry['kind'];
  lines: Array<[string, Deltas]>;
  perUser: number;
  broken: (typeof BREAKS)[number] | null;
}

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  ms: fc.integer({ min: 1, max: 40 }),
  seq: fc.nat(3),
  kind: fc.constantFrom(...LEDGER_KINDS),
  lines: fc.array(fc.tuple(fc.constantFrom(...SKUS), deltaArb), { maxLength: 3 }),
  perUser: fc.nat(5),
  broken: fc.oneof(
    { weight: 12, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom(...BREAKS) },
  ),
});

function toEntry(s: Shape, id: string): LedgerEntry {
  const e: LedgerEntry = {
    streamId: `${s.ms}-${s.seq}`,
    changeId: `${s.kind}:${id}`,
    kind: s.kind,
    eventId: id,
    checkoutId: '',
    atMs: s.ms,
    lines: s.lines.map(([sku, x]) => [sku, ...x] as LedgerLine),
  };
  if (s.kind === 'set_limit') e.perUser = s.perUser;
  switch (s.broken) {
    case 'stream_id':
      e.streamId = `${s.ms}`;
      break;
    case 'sku':
      e.lines = [...e.lines, ['X ', 1, 1, 0, 0]];
      break;
    case 'delta':
      e.lines = [...e.lines, ['A', 0.5, 0.5, 0, 0]];
      break;
    case 'kind':
      e.kind = 'steal' as LedgerEntry['kind'];
      break;
    case 'per_user':
      e.kind = 'set_limit';
      delete e.perUser;
      break;
  }
  return e;
}

/** Distinct changes (distinct change ids and stream ids) that batches are drawn from. */
const poolArb = fc
  .uniqueArray(shapeArb, { minLength: 1, maxLength: 14, selector: (s) => `${s.ms}-${s.seq}` })
  .map((shapes) => shapes.map((s, i) => toEntry(s, `c${i}`)));

interface Scenario {
  pool: LedgerEntry[];
  /** Entries of the pool, some more than once, in random order. */
  batch: LedgerEntry[];
  books: LockedBooks;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    pool: poolArb,
    picks: fc.array(fc.nat(), { maxLength: 24 }),
    rows: rowsArb,
    appliedBefore: fc.array(fc.nat(), { maxLength: 4 }),
    refusedBefore: fc.array(fc.nat(), { maxLength: 4 }),
  })
  .map(({ pool, picks, rows, appliedBefore, refusedBefore }) => {
    const pick = (i: number) => pool[i % pool.length]!;
    return {
      pool,
      batch: picks.map(pick),
      books: {
        rows,
        applied: new Set(appliedBefore.map((i) => pick(i).changeId)),
        refused: new Set(refusedBefore.map((i) => pick(i).changeId)),
      },
    };
  });

const plan = (batch: LedgerEntry[], books: LockedBooks) =>
  planBatch(prepareBatch(batch), SHARD, books);

const ids = (es: LedgerEntry[]) => es.map((e) => e.changeId);

const uniqueChanges = (batch: LedgerEntry[]) => [
  ...new Map(batch.map((e) => [e.changeId, e])).values(),
];

/** Stream order; a malformed stream id sorts first (such an entry changes nothing anyway). */
function inStreamOrder(batch: LedgerEntry[]): LedgerEntry[] {
  const key = (e: LedgerEntry) => parseStreamId(e.streamId) ?? [-1n, -1n];
  return [...batch].sort((x, y) => {
    const [a, b] = [key(x), key(y)];
    return a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  });
}

function applyUpdates(rows: ReadonlyMap<string, StockRow>, updates: StockUpdate[]) {
  const out = new Map([...rows].map(([k, v]) => [k, { ...v }]));
  for (const u of updates) {
    const r = out.get(u.sku)!;
    r.total += u.d[0];
    r.available += u.d[1];
    r.held += u.d[2];
    r.sold += u.d[3];
    if (u.limit !== null) r.perUser = u.limit;
  }
  return out;
}

const incidentSummary = (p: BatchPlan) =>
  p.incidents.map((i) => [i.changeId, i.streamId, i.reason, i.repeated, i.detail].join('|')).sort();

describe('planBatch', () => {
  it('a change alone applies iff every line that moves a counter keeps the invariants', () => {
    fc.assert(
      fc.property(scenarioArb, ({ pool, books }) => {
        for (const e of pool) {
          const p = plan([e], books);
          const n = normalizeLedgerEntry(e);
          if ('error' in n) {
            expect(p.incidents.map((i) => [i.reason, i.repeated])).toEqual([
              ['invalid_entry', books.refused.has(e.changeId)],
            ]);
            expect(p.apply).toEqual([]);
            continue;
          }
          if (books.applied.has(e.changeId)) {
            expect([p.apply, p.incidents, p.duplicates]).toEqual([[], [], 1]);
            continue;
          }
          const after = (l: LedgerLine): StockRow => {
            const cur = books.rows.get(l[0])!;
            return {
              total: cur.total + l[1],
              available: cur.available + l[2],
              held: cur.held + l[3],
              sold: cur.sold + l[4],
              perUser: n.kind === 'set_limit' ? n.perUser! : cur.perUser,
            };
          };
          const moves = (l: LedgerLine) => l.slice(1).some((x) => x !== 0);
          const breaking = n.lines.filter((l) => moves(l) && !keepsInvariants(after(l)));
          if (breaking.length) {
            expect(p.apply).toEqual([]);
            expect(p.incidents).toHaveLength(1);
            expect(p.incidents[0]!.violations.map((v) => [v.sku, v.reason])).toEqual(
              breaking.map((l) => [l[0], reasonFor(after(l))]),
            );
            expect(p.incidents[0]!.repeated).toBe(books.refused.has(e.changeId));
            for (const [sku, r] of p.rows) expect(r).toEqual(books.rows.get(sku));
          } else {
            expect(ids(p.apply)).toEqual([e.changeId]);
            expect(p.incidents).toEqual([]);
            expect(p.resolved).toEqual(books.refused.has(e.changeId) ? [e.changeId] : []);
            for (const l of n.lines) expect(p.rows.get(l[0])).toEqual(after(l));
            expect(p.ledgerRows.map((r) => [r[1], r[5], r[6], r[7], r[8]])).toEqual(n.lines);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a batch plans like its changes one by one, and its updates turn the rows into the plan', () => {
    fc.assert(
      fc.property(scenarioArb, ({ batch: drawn, books }) => {
        const batch = uniqueChanges(drawn);
        const whole = plan(batch, books);

        const rows = new Map(books.rows);
        const applied = new Set(books.applied);
        const steps: BatchPlan[] = [];
        for (const e of inStreamOrder(batch)) {
          const p = plan([e], { rows, applied, refused: books.refused });
          for (const [sku, r] of p.rows) rows.set(sku, r);
          for (const a of p.apply) applied.add(a.changeId);
          steps.push(p);
        }
        expect(ids(whole.apply)).toEqual(steps.flatMap((p) => ids(p.apply)));
        expect(whole.ledgerRows).toEqual(steps.flatMap((p) => p.ledgerRows));
        expect(whole.resolved).toEqual(steps.flatMap((p) => p.resolved));
        expect(whole.duplicates).toBe(steps.reduce((n, p) => n + p.duplicates, 0));
        expect(incidentSummary(whole)).toEqual(steps.flatMap(incidentSummary).sort());
        expect([...whole.incidentRows].sort()).toEqual(steps.flatMap((p) => p.incidentRows).sort());

        const updated = applyUpdates(books.rows, whole.stockUpdates);
        for (const [sku, r] of whole.rows) {
          expect(r, sku).toEqual(rows.get(sku));
          expect(updated.get(sku), sku).toEqual(r);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never applies a change twice: repeats in a batch, earlier deliveries, re-plans', () => {
    fc.assert(
      fc.property(
        poolArb,
        rowsArb,
        fc.array(fc.array(fc.nat(), { maxLength: 16 }), { minLength: 1, maxLength: 8 }),
        (pool, rows, deliveries) => {
          const books = {
            rows: new Map(rows),
            applied: new Set<string>(),
            refused: new Set<string>(),
          };
          const commit = (p: BatchPlan) => {
            for (const [sku, r] of p.rows) books.rows.set(sku, r);
            for (const e of p.apply) books.applied.add(e.changeId);
            for (const r of p.incidentRows) books.refused.add(r[0]);
          };
          const everApplied: string[] = [];
          for (const picks of deliveries) {
            const batch = picks.map((i) => pool[i % pool.length]!);
            const p = plan(batch, books);
            expect(new Set(ids(p.apply)).size).toBe(p.apply.length);
            for (const id of ids(p.apply)) expect(books.applied.has(id)).toBe(false);
            // Each entry is accounted for once: applied, skipped as a duplicate, or refused.
            expect(p.apply.length + p.duplicates + p.incidents.length).toBe(batch.length);
            everApplied.push(...ids(p.apply));
            commit(p);
            // The same batch again (a crash before the ack): only what it refused may apply.
            const again = plan(batch, books);
            const refused = new Set(p.incidents.map((i) => i.changeId));
            for (const id of ids(again.apply)) expect(refused.has(id)).toBe(true);
            everApplied.push(...ids(again.apply));
            commit(again);
          }
          expect(new Set(everApplied).size).toBe(everApplied.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('locks every touched SKU once, sorted by code point (= utf8mb4_bin)', () => {
    const codePoints = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);
    const less = (a: string, b: string) => {
      const [x, y] = [codePoints(a), codePoints(b)];
      for (let i = 0; i < Math.min(x.length, y.length); i++)
        if (x[i] !== y[i]) return x[i]! < y[i]!;
      return x.length < y.length;
    };
    fc.assert(
      fc.property(scenarioArb, ({ batch, books }) => {
        const prepared = prepareBatch(batch);
        const order = prepared.lockOrder;
        for (let i = 1; i < order.length; i++) expect(less(order[i - 1]!, order[i]!)).toBe(true);
        const touched = new Set(prepared.changes.flatMap((c) => c.entry.lines.map((l) => l[0])));
        expect(new Set(order)).toEqual(touched);

        const p = planBatch(prepared, SHARD, books);
        expect([...p.rows.keys()]).toEqual(order);
        const updated = p.stockUpdates.map((u) => u.sku);
        expect(updated).toEqual(order.filter((s) => updated.includes(s)));
        for (const r of p.ledgerRows) expect(touched.has(r[1])).toBe(true);
        for (const i of p.incidents)
          for (const v of i.violations) if (v.sku) expect(touched.has(v.sku)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a refused change leaves the rows as if it were not in the batch', () => {
    fc.assert(
      fc.property(scenarioArb, ({ batch: drawn, books }) => {
        const batch = uniqueChanges(drawn);
        const p = plan(batch, books);
        for (const inc of p.incidents.filter((i) => i.reason !== 'invalid_entry')) {
          const without = plan(
            batch.filter((e) => e.changeId !== inc.changeId),
            books,
          );
          for (const [sku, r] of without.rows) expect(p.rows.get(sku), sku).toEqual(r);
          expect(p.ledgerRows).toEqual(without.ledgerRows);
          expect(ids(p.apply)).toEqual(ids(without.apply));
          expect(p.ledgerRows.some((r) => r[0] === inc.changeId)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps available + held + sold = total and nothing negative in every planned row', () => {
    fc.assert(
      fc.property(scenarioArb, ({ batch, books }) => {
        for (const r of books.rows.values()) expect(keepsInvariants(r)).toBe(true);
        const p = plan(batch, books);
        for (const [sku, r] of p.rows) expect(keepsInvariants(r), sku).toBe(true);
        for (const [sku, r] of applyUpdates(books.rows, p.stockUpdates))
          expect(keepsInvariants(r), sku).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
