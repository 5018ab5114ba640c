/**
 * Conservation: `available + held + sold = total` for every SKU (Redis at every sample and at
 * the end, MySQL at the end), and every SKU's total equals the units armed — no unit was
 * created or lost.
 */
import type { StockRow } from '@holdfast/shared/inspect';
import { fmt } from '../format.js';
import { allSkus, conserved, unitsAccounted, type SampledRow } from './stock-rules.js';
import type { VerdictOf } from './verdict.js';

export interface ConservationInputs {
  redisStock: StockRow[];
  mysqlStock: StockRow[];
  /** Units armed per SKU. */
  armed: Map<string, number>;
  /** Rows the sampler found breaking a stock rule. */
  sampledBreaches: SampledRow[];
}

export type ConservationProblem =
  /** available + held + sold ≠ total, at the end (Redis, MySQL) or in a sample. */
  | {
      kind: 'unbalanced';
      where: 'Redis' | 'MySQL' | 'sample';
      atMs: number | null;
      sku: string;
      accounted: number;
      total: number;
    }
  /** The SKU's total at the end is not what was armed. */
  | { kind: 'total_not_armed'; where: 'Redis' | 'MySQL'; sku: string; total: number; armed: number }
  /** An armed SKU Redis does not have. */
  | { kind: 'missing_in_redis'; sku: string };

export interface ConservationDetails {
  skus: number;
  armedUnits: number;
  /** In the order: end state (Redis, then MySQL), SKUs missing in Redis, samples. */
  problems: ConservationProblem[];
}

export type ConservationVerdict = VerdictOf<'conservation', ConservationDetails>;

export function conservation(x: ConservationInputs): ConservationVerdict {
  const problems: ConservationProblem[] = [];
  for (const [where, rows] of [
    ['Redis', x.redisStock],
    ['MySQL', x.mysqlStock],
  ] as const) {
    for (const r of rows) {
      if (!conserved(r)) problems.push(unbalanced(where, null, r));
      const armed = x.armed.get(r.sku);
      if (armed !== undefined && r.total !== armed)
        problems.push({ kind: 'total_not_armed', where, sku: r.sku, total: r.total, armed });
    }
  }
  const inRedis = new Set(x.redisStock.map((r) => r.sku));
  for (const sku of x.armed.keys())
    if (!inRedis.has(sku)) problems.push({ kind: 'missing_in_redis', sku });
  for (const { atMs, row } of x.sampledBreaches)
    if (!conserved(row)) problems.push(unbalanced('sample', atMs, row));
  const details: ConservationDetails = {
    skus: allSkus(x.redisStock, x.mysqlStock, x.armed).length,
    armedUnits: [...x.armed.values()].reduce((a, b) => a + b, 0),
    problems,
  };
  return {
    invariant: 'conservation',
    ok: problems.length === 0,
    summary: problems.length
      ? problems.slice(0, 5).map(describe).join('; ')
      : `available + held + sold = total for all ${details.skus} SKUs (Redis at every sample and at the end, MySQL at the end); every total equals the units armed (${fmt(details.armedUnits)})`,
    details,
  };
}

function unbalanced(
  where: 'Redis' | 'MySQL' | 'sample',
  atMs: number | null,
  r: StockRow,
): ConservationProblem {
  return {
    kind: 'unbalanced',
    where,
    atMs,
    sku: r.sku,
    accounted: unitsAccounted(r),
    total: r.total,
  };
}

function describe(p: ConservationProblem): string {
  switch (p.kind) {
    case 'unbalanced': {
      const what = `available+held+sold ${p.accounted} ≠ total ${p.total}`;
      return p.where === 'sample'
        ? `at +${p.atMs} ms: ${p.sku}: ${what}`
        : `${p.where} ${p.sku}: ${what}`;
    }
    case 'total_not_armed':
      return `${p.where} ${p.sku}: total ${p.total} ≠ ${p.armed} units armed`;
    case 'missing_in_redis':
      return `Redis has no ${p.sku}`;
  }
}

/** SKUs whose units did not add up anywhere (end state or samples). */
export function unbalancedSkus(v: ConservationVerdict): string[] {
  return v.details.problems.filter((p) => p.kind === 'unbalanced').map((p) => p.sku);
}
