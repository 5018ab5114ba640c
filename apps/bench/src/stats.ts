/** Latency summaries: nearest-rank percentiles over every sample (no histogram buckets). */
import { mean, nearestRank, sortedSample } from '@holdfast/shared/stats';

export interface LatencySummary {
  /** Samples summarised (one per decision; see each run's `latencyDefinition`). */
  count: number;
  mean: number | null;
  p50: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

const round = (v: number, digits = 2) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** Summarises the first `n` samples (ms) of `samples`; NaN entries (no sample) are skipped. */
export function summarize(samples: Float64Array | number[], n = samples.length): LatencySummary {
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = samples[i]!;
    if (!Number.isNaN(v)) values.push(v);
  }
  if (!values.length) return { count: 0, mean: null, p50: null, p99: null, p999: null, max: null };
  const sorted = sortedSample(values);
  return {
    count: sorted.length,
    mean: round(mean(sorted)),
    p50: round(nearestRank(sorted, 0.5)),
    p99: round(nearestRank(sorted, 0.99)),
    p999: round(nearestRank(sorted, 0.999)),
    max: round(sorted[sorted.length - 1]!),
  };
}

/** Decisions per second over a window of `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? Math.round((count / ms) * 1000) : 0;
}
