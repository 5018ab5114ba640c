import { prom, type Registry } from '@holdfast/shared';
import type { ReconcileReport } from './reconcile.js';

export const TOTAL_LABEL = '_total';

export function reconcilerMetrics(registry: Registry) {
  return {
    variance: new prom.Gauge({
      name: 'holdfast_inventory_variance_units',
      help: `Redis minus MySQL per SKU, in-flight ledger entries accounted for (0 = books agree). sku="${TOTAL_LABEL}" is the sum of absolute variances.`,
      labelNames: ['sku'],
      registers: [registry],
    }),
    runs: new prom.Counter({
      name: 'holdfast_reconcile_runs_total',
      help: 'Reconciliation runs by result (ok, variance, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    duration: new prom.Histogram({
      name: 'holdfast_reconcile_duration_seconds',
      help: 'Duration of one reconciliation run.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    lastSuccess: new prom.Gauge({
      name: 'holdfast_reconcile_last_success_timestamp_seconds',
      help: 'Unix time of the last reconciliation that completed (whatever its variance).',
      registers: [registry],
    }),
  };
}
export type ReconcilerMetrics = ReturnType<typeof reconcilerMetrics>;

/**
 * Publishes a run's variance with bounded cardinality: the SKUs with the largest variance
 * (up to maxSeries) and the total; SKUs back at 0 disappear from the gauge.
 */
export function publishVariance(
  m: ReconcilerMetrics,
  reports: ReconcileReport[],
  maxSeries: number,
): void {
  const all = reports.flatMap((r) => r.variances);
  all.sort((a, b) => Math.abs(b.variance) - Math.abs(a.variance));
  m.variance.reset();
  for (const v of all.slice(0, maxSeries)) m.variance.set({ sku: v.sku }, v.variance);
  m.variance.set(
    { sku: TOTAL_LABEL },
    reports.reduce((n, r) => n + r.totalAbsVariance, 0),
  );
}
