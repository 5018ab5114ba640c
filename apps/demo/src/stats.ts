/** Small statistics helpers: percentiles (the holds check, latency) and a histogram (latency). */
import { mean, nearestRank, sortedSample } from '@holdfast/shared/stats';

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles (ms) of a sample; zeros when empty. */
export function percentiles(values: ArrayLike<number>): Percentiles {
  const a = sortedSample(values);
  const n = a.length;
  if (!n) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count: n,
    p50: nearestRank(a, 0.5),
    p90: nearestRank(a, 0.9),
    p99: nearestRank(a, 0.99),
    p999: nearestRank(a, 0.999),
    max: a[n - 1]!,
    mean: Math.round(mean(a) * 10) / 10,
  };
}

/** Counts of values per bucket upper bound (ms); the last bucket is open-ended. */
export function histogram(
  values: ArrayLike<number>,
  bounds: number[],
): Array<{ le: number | null; count: number }> {
  const out = bounds.map((b) => ({ le: b as number | null, count: 0 }));
  out.push({ le: null, count: 0 });
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let k = bounds.findIndex((b) => v <= b);
    if (k < 0) k = bounds.length;
    out[k]!.count++;
  }
  return out;
}
