/**
 * No oversell: `available ≥ 0` and `held + sold ≤ total` for every SKU — in Redis and in MySQL
 * at the end, and in Redis at every sample taken during the run.
 */
import type { StockRow } from '@holdfast/shared/inspect';
import {
  allSkus,
  describeOversell,
  oversellBreaches,
  type OversellBreach,
  type SampledRow,
} from './stock-rules.js';
import { fmt } from '../format.js';
import type { VerdictOf } from './verdict.js';

export interface NoOversellInputs {
  redisStock: StockRow[];
  mysqlStock: StockRow[];
  /** Units armed per SKU (SKUs armed but missing count in the SKU total). */
  armed: Map<string, number>;
  /** Rows the sampler found breaking a stock rule. */
  sampledBreaches: SampledRow[];
  /** How many samples were checked, and how often. */
  stockSamples: number;
  sampleIntervalMs: number;
}

/** One oversold row: where it was read (`atMs` for a sample) and which rules it broke. */
export interface OversoldRow {
  where: 'Redis' | 'MySQL' | 'sample';
  /** ms after the crowd started, for a sample; null at the end. */
  atMs: number | null;
  sku: string;
  breaches: OversellBreach[];
}

export interface NoOversellDetails {
  skus: number;
  samples: number;
  sampleIntervalMs: number;
  /** Every oversold row: the end state (Redis, then MySQL) first, then the samples. */
  oversold: OversoldRow[];
  /** Distinct SKUs oversold anywhere. */
  oversoldSkus: string[];
}

export type NoOversellVerdict = VerdictOf<'no_oversell', NoOversellDetails>;

export function noOversell(x: NoOversellInputs): NoOversellVerdict {
  const oversold: OversoldRow[] = [];
  for (const [where, rows] of [
    ['Redis', x.redisStock],
    ['MySQL', x.mysqlStock],
  ] as const) {
    for (const r of rows) {
      const breaches = oversellBreaches(r);
      if (breaches.length) oversold.push({ where, atMs: null, sku: r.sku, breaches });
    }
  }
  for (const { atMs, row } of x.sampledBreaches) {
    const breaches = oversellBreaches(row);
    if (breaches.length) oversold.push({ where: 'sample', atMs, sku: row.sku, breaches });
  }
  const oversoldSkus = [...new Set(oversold.map((r) => r.sku))];
  const details: NoOversellDetails = {
    skus: allSkus(x.redisStock, x.mysqlStock, x.armed).length,
    samples: x.stockSamples,
    sampleIntervalMs: x.sampleIntervalMs,
    oversold,
    oversoldSkus,
  };
  return {
    invariant: 'no_oversell',
    ok: oversold.length === 0,
    summary: summary(details),
    details,
  };
}

function summary(d: NoOversellDetails): string {
  if (!d.oversold.length)
    return `available ≥ 0 and held + sold ≤ total for all ${d.skus} SKUs — in Redis and MySQL at the end, and in Redis at each of ${fmt(d.samples)} samples taken every ${d.sampleIntervalMs} ms`;
  return `${d.oversoldSkus.length} SKU(s) oversold: ${d.oversold.flatMap(describeRow).slice(0, 5).join('; ')}`;
}

/** An end-state row as one line (`Redis HOT-1: …, …`); a sample as one line per breach. */
function describeRow(r: OversoldRow): string[] {
  const what = r.breaches.map(describeOversell);
  return r.where === 'sample'
    ? what.map((w) => `at +${r.atMs} ms: ${r.sku}: ${w}`)
    : [`${r.where} ${r.sku}: ${what.join(', ')}`];
}
