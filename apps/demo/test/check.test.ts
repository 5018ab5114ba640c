/**
 * The invariant checks on crafted observations: pure functions, no servers. Each verdict is
 * told apart by its typed details, never by its text.
 */
import { describe, expect, it } from 'vitest';
import type { StockRow } from '@holdfast/shared/inspect';
import { conservation } from '../src/check/conservation.js';
import { effectivelyOnce } from '../src/check/effectively-once.js';
import { EXPIRY_GRACE_MS, holdsExpire } from '../src/check/holds-expire.js';
import { allHold, checkInvariants, oversoldSkus } from '../src/check/invariants.js';
import { noOversell } from '../src/check/no-oversell.js';
import { expectedLedgerByKind, nothingLost } from '../src/check/nothing-lost.js';
import { reconcilerVariance } from '../src/check/reconciler-variance.js';
import { toCheck } from '../src/check/verdict.js';
import type { SampledRow } from '../src/check/stock-rules.js';
import type { OutcomeRecord } from '../src/observe/outcome-tap.js';
import type { Observation } from '../src/observation.js';

const row = (sku: string, total: number, available: number, held: number, sold: number) =>
  ({ sku, total, available, held, sold }) satisfies StockRow;

const HOT = row('HOT-1', 100, 0, 0, 100);
const WARM = row('WARM-1', 2000, 150, 0, 1850);
const armed = new Map([
  ['HOT-1', 100],
  ['WARM-1', 2000],
]);

function stock(
  redisStock: StockRow[] = [HOT, WARM],
  mysqlStock: StockRow[] = [HOT, WARM],
  sampledBreaches: SampledRow[] = [],
) {
  return {
    redisStock,
    mysqlStock,
    armed,
    sampledBreaches,
    stockSamples: 40,
    sampleIntervalMs: 250,
  };
}

describe('no oversell and conservation', () => {
  it('both hold on balanced rows', () => {
    const a = noOversell(stock());
    const b = conservation(stock());
    expect(a).toMatchObject({ invariant: 'no_oversell', ok: true });
    expect(a.details).toMatchObject({ skus: 2, samples: 40, oversold: [] });
    expect(b).toMatchObject({ invariant: 'conservation', ok: true });
    expect(b.details).toMatchObject({ skus: 2, armedUnits: 2100, problems: [] });
  });

  it('an oversold row that still adds up: no_oversell fails, conservation holds', () => {
    // available -1, sold 101: available + held + sold = 100 = total, but 101 units were sold.
    const oversold = row('HOT-1', 100, -1, 0, 101);
    const x = stock([oversold, WARM]);
    const a = noOversell(x);
    expect(a.ok).toBe(false);
    expect(a.details.oversoldSkus).toEqual(['HOT-1']);
    expect(a.details.oversold).toEqual([
      {
        where: 'Redis',
        atMs: null,
        sku: 'HOT-1',
        breaches: [
          { rule: 'available_negative', available: -1 },
          { rule: 'held_and_sold_over_total', heldAndSold: 101, total: 100 },
        ],
      },
    ]);
    expect(conservation(x).ok).toBe(true);
  });

  it('units that do not add up without an oversell: conservation fails, no_oversell holds', () => {
    // 5 + 0 + 90 = 95 ≠ 100: five units vanished, none oversold.
    const x = stock([HOT, WARM], [row('HOT-1', 100, 5, 0, 90), WARM]);
    expect(noOversell(x).ok).toBe(true);
    const c = conservation(x);
    expect(c.ok).toBe(false);
    expect(c.details.problems).toEqual([
      { kind: 'unbalanced', where: 'MySQL', atMs: null, sku: 'HOT-1', accounted: 95, total: 100 },
    ]);
  });

  it('checks the rows the sampler kept during the run', () => {
    const x = stock(undefined, undefined, [
      { atMs: 750, row: row('WARM-1', 2000, 0, 30, 1980) }, // held + sold 2010 > 2000, sum ≠ total
    ]);
    const a = noOversell(x);
    expect(a.ok).toBe(false);
    expect(a.details.oversold[0]).toMatchObject({ where: 'sample', atMs: 750, sku: 'WARM-1' });
    const c = conservation(x);
    expect(c.ok).toBe(false);
    expect(c.details.problems[0]).toMatchObject({ kind: 'unbalanced', where: 'sample', atMs: 750 });
  });

  it('a total other than the units armed, or an armed SKU missing in Redis, breaks conservation', () => {
    const x = { ...stock([row('HOT-1', 90, 0, 0, 90)], [row('HOT-1', 90, 0, 0, 90)]) };
    const c = conservation(x);
    expect(c.ok).toBe(false);
    expect(c.details.problems.map((p) => p.kind)).toEqual([
      'total_not_armed',
      'total_not_armed',
      'missing_in_redis',
    ]);
    expect(noOversell(x).ok).toBe(true);
  });
});

const rec = (o: Partial<OutcomeRecord> & Pick<OutcomeRecord, 'type' | 'status'>) =>
  ({ reason: undefined, checkoutId: 'c1', at: 1_000, expiresAt: undefined, ...o }) as OutcomeRecord;

describe('effectively once', () => {
  const byEvent = new Map([
    ['e1', rec({ type: 'reserve', status: 'reserved', checkoutId: 'c1' })],
    ['e2', rec({ type: 'confirm', status: 'confirmed', checkoutId: 'c1' })],
    ['x1', rec({ type: 'expire', status: 'expired', checkoutId: 'c2' })],
  ]);
  const base = {
    xaddMs: new Map([
      ['e1', 900],
      ['e2', 950],
    ]),
    outcomes: { byEvent, repeated: [] as string[], byType: { reserve: 1, confirm: 1, expire: 1 } },
    crowd: { sent: 1, followUps: 1 },
    eventsSeen: 2,
  };

  it('holds when each event sent has exactly one outcome', () => {
    const v = effectivelyOnce(base);
    expect(v).toMatchObject({ invariant: 'effectively_once', ok: true });
    expect(v.details).toMatchObject({ expectedEvents: 2, expiries: 1, missing: 0, unknown: 0 });
  });

  it('fails on a second outcome, a missing one, an unknown one, or a miscount', () => {
    const twice = effectivelyOnce({ ...base, outcomes: { ...base.outcomes, repeated: ['e1'] } });
    expect(twice.ok).toBe(false);
    expect(twice.details.repeated).toEqual(['e1']);

    const missing = effectivelyOnce({ ...base, xaddMs: new Map([...base.xaddMs, ['e3', 990]]) });
    expect(missing.details).toMatchObject({ missing: 1, missingExamples: ['e3'] });
    expect(missing.ok).toBe(false);

    const unknown = effectivelyOnce({ ...base, xaddMs: new Map([['e1', 900]]) });
    expect(unknown.details.unknown).toBe(1);
    expect(unknown.ok).toBe(false);

    const miscount = effectivelyOnce({ ...base, eventsSeen: 3 });
    expect(miscount.ok).toBe(false);
    expect(miscount.details.eventsSeen).toBe(3);
  });
});

describe('nothing lost', () => {
  const byStatus = {
    reserved: 10,
    confirmed: 6,
    cancelled: 2,
    expired: 2,
    'rejected:out_of_stock': 4,
  };
  const adminByKind = { restock: 2, set_limit: 2 };
  const expected = expectedLedgerByKind(byStatus, adminByKind);
  const base = {
    redisStock: [HOT, WARM],
    mysqlStock: [HOT, WARM],
    armed,
    mysqlLedger: { rows: 30, changes: 24, byKind: { ...expected } },
    byStatus,
    adminByKind,
    deadLetters: 0,
    incidents: 0,
  };

  it('expects one ledger change per admin entry and per state-changing outcome', () => {
    expect(expected).toEqual({
      restock: 2,
      set_limit: 2,
      reserve: 10,
      confirm: 6,
      cancel: 2,
      expire: 2,
    });
    expect(expectedLedgerByKind({ extended: 3 }, {})).toMatchObject({ extend: 3 });
  });

  it('holds when MySQL equals Redis and the ledger has every change once', () => {
    const v = nothingLost(base);
    expect(v).toMatchObject({ invariant: 'nothing_lost', ok: true });
    expect(v.details).toMatchObject({ skus: 2, expectedChanges: 24, mismatched: [] });
  });

  it('fails when MySQL differs from Redis, and names the SKU', () => {
    const v = nothingLost({ ...base, mysqlStock: [HOT, row('WARM-1', 2000, 151, 0, 1849)] });
    expect(v.ok).toBe(false);
    expect(v.details.mismatched.map((m) => m.sku)).toEqual(['WARM-1']);
    const gone = nothingLost({ ...base, mysqlStock: [HOT] });
    expect(gone.details.mismatched).toEqual([{ sku: 'WARM-1', redis: WARM, mysql: null }]);
  });

  it('fails on a lost or doubled ledger change, a dead letter or an incident', () => {
    const lostOne = nothingLost({
      ...base,
      mysqlLedger: { ...base.mysqlLedger, byKind: { ...expected, confirm: 5 } },
    });
    expect(lostOne.ok).toBe(false);
    expect(lostOne.details.kindMismatches).toEqual([
      { kind: 'confirm', inMysql: 5, stateChanges: 6 },
    ]);
    expect(nothingLost({ ...base, deadLetters: 1 }).ok).toBe(false);
    expect(nothingLost({ ...base, incidents: 1 }).ok).toBe(false);
  });
});

describe('holds expire', () => {
  const SWEEP = 250;
  const expiring = (lateByMs: number) =>
    new Map([
      ['r1', rec({ type: 'reserve', status: 'reserved', checkoutId: 'c1', expiresAt: 5_000 })],
      ['r2', rec({ type: 'reserve', status: 'reserved', checkoutId: 'c2', expiresAt: 5_000 })],
      ['f2', rec({ type: 'confirm', status: 'confirmed', checkoutId: 'c2' })],
      ['x1', rec({ type: 'expire', status: 'expired', checkoutId: 'c1', at: 5_000 + lateByMs })],
    ]);
  const input = (lateByMs: number, more: Partial<Parameters<typeof holdsExpire>[0]> = {}) => ({
    outcomes: {
      byEvent: expiring(lateByMs),
      byStatus: { reserved: 2, confirmed: 1, expired: 1 },
    },
    activeHolds: 0,
    redisStock: [HOT],
    mysqlStock: [HOT],
    sweepIntervalMs: SWEEP,
    ...more,
  });

  it('holds when every abandoned hold expired within its deadline plus the sweep and grace', () => {
    const v = holdsExpire(input(300));
    expect(v).toMatchObject({ invariant: 'holds_expire', ok: true });
    expect(v.details).toMatchObject({
      expectedExpired: 1,
      expired: 1,
      maxLatenessMs: 300,
      laterThanSweepInterval: 1,
      graceMs: EXPIRY_GRACE_MS,
    });
  });

  it('fails on an early or a too-late release', () => {
    const early = holdsExpire(input(-1));
    expect(early.ok).toBe(false);
    expect(early.details.early).toBe(1);
    const late = holdsExpire(input(SWEEP + EXPIRY_GRACE_MS + 1));
    expect(late.ok).toBe(false);
    expect(late.details.maxLatenessMs).toBe(SWEEP + EXPIRY_GRACE_MS + 1);
  });

  it('fails while a hold is active or a unit held, or a hold never expired', () => {
    expect(holdsExpire(input(10, { activeHolds: 1 })).ok).toBe(false);
    const held = holdsExpire(input(10, { redisStock: [row('HOT-1', 100, 0, 2, 98)] }));
    expect(held.details.heldLeft).toBe(2);
    expect(held.ok).toBe(false);
    const never = input(10, {
      outcomes: { byEvent: expiring(10), byStatus: { reserved: 3, confirmed: 1, expired: 1 } },
    });
    expect(holdsExpire(never).details).toMatchObject({ expectedExpired: 2, expired: 1 });
    expect(holdsExpire(never).ok).toBe(false);
  });
});

describe('reconciler variance', () => {
  const final = [{ totalAbsVariance: 0, inFlightEntries: 0, skus: 51 }];
  const run = (variance: number, inFlight = 10) => ({ at: 1, variance, inFlight, skus: 51 });

  it('holds when the final run and every run during the demo found 0', () => {
    const v = reconcilerVariance({ reconcile: final, audit: [run(0, 40), run(0, 7)] });
    expect(v).toMatchObject({ invariant: 'reconciler_variance', ok: true });
    expect(v.details).toMatchObject({ variance: 0, runs: 2, badRuns: 0, maxInFlight: 40 });
  });

  it('fails on a run with variance during the demo, or at the end', () => {
    const during = reconcilerVariance({ reconcile: final, audit: [run(0), run(-3)] });
    expect(during.ok).toBe(false);
    expect(during.details).toMatchObject({ badRuns: 1, maxVariance: 3 });
    const atEnd = reconcilerVariance({
      reconcile: [{ totalAbsVariance: 2, inFlightEntries: 0, skus: 51 }],
      audit: [],
    });
    expect(atEnd.ok).toBe(false);
    expect(atEnd.details.variance).toBe(2);
  });
});

describe('checkInvariants', () => {
  const observation = (redisStock: StockRow[], mysqlStock: StockRow[]) =>
    ({
      ...stock(redisStock, mysqlStock),
      adminByKind: {},
      crowd: { sent: 0, followUps: 0 },
      outcomes: { byEvent: new Map(), repeated: [], byStatus: {}, byType: {}, count: 0, lastAt: 0 },
      xaddMs: new Map(),
      eventsSeen: 0,
      mysqlLedger: { rows: 0, changes: 0, byKind: {} },
      deadLetters: 0,
      incidents: 0,
      activeHolds: 0,
      reconcile: [],
      audit: [],
      sweepIntervalMs: 250,
    }) as unknown as Observation;

  it('gives one verdict per invariant, each with its title in report.json', () => {
    const v = checkInvariants(observation([HOT, WARM], [HOT, WARM]));
    expect(Object.values(v).map((x) => x.invariant)).toEqual([
      'no_oversell',
      'conservation',
      'effectively_once',
      'nothing_lost',
      'holds_expire',
      'reconciler_variance',
    ]);
    expect(allHold(v)).toBe(true);
    expect(oversoldSkus(v)).toEqual([]);
    expect(toCheck(v.reconcilerVariance)).toMatchObject({
      ok: true,
      title: 'Reconciler variance 0',
    });
  });

  it('counts as oversold every SKU that broke no-oversell or conservation anywhere', () => {
    const v = checkInvariants(
      observation(
        [row('HOT-1', 100, -1, 0, 101), WARM],
        [row('HOT-1', 100, -1, 0, 101), row('WARM-1', 2000, 100, 0, 1850)],
      ),
    );
    expect(allHold(v)).toBe(false);
    expect(oversoldSkus(v).sort()).toEqual(['HOT-1', 'WARM-1']);
  });
});
