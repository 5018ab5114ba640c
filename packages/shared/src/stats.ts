/**
 * Percentiles as the demo and the benchmark report them: nearest rank over every sample (no
 * interpolation, no histogram buckets), so a reported p99 is a latency some event really had.
 */

/** The values sorted ascending, as a typed array (numeric sort, not the default string sort). */
export function sortedSample(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** The nearest-rank q-quantile (0 < q ≤ 1) of an ascending, non-empty sample. */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
}

/** The arithmetic mean of a non-empty sample. */
export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}
