/**
 * Reconciler variance 0: a final reconcileAll (the reconciler's own function, run by the demo)
 * finds variance 0, and every run of the reconciler service during the demo (its
 * holdfast:audit entries) reported variance 0.
 */
import type { ReconcileReport } from '@holdfast/reconciler';
import { fmt } from '../format.js';
import type { AuditRun } from '../observe/sampler.js';
import type { VerdictOf } from './verdict.js';

export interface ReconcilerVarianceInputs {
  /** The final reconcileAll, one report per shard. */
  reconcile: Pick<ReconcileReport, 'totalAbsVariance' | 'inFlightEntries' | 'skus'>[];
  /** The reconciler service's runs during the demo. */
  audit: AuditRun[];
}

export interface ReconcilerVarianceDetails {
  /** The final run's total |variance|, ledger entries in flight, SKUs compared. */
  variance: number;
  inFlight: number;
  skus: number;
  runs: number;
  /** Runs during the demo that reported a variance. */
  badRuns: number;
  maxVariance: number;
  maxInFlight: number;
}

export type ReconcilerVarianceVerdict = VerdictOf<'reconciler_variance', ReconcilerVarianceDetails>;

export function reconcilerVariance(x: ReconcilerVarianceInputs): ReconcilerVarianceVerdict {
  const sum = (f: (r: ReconcilerVarianceInputs['reconcile'][number]) => number) =>
    x.reconcile.reduce((a, r) => a + f(r), 0);
  const d: ReconcilerVarianceDetails = {
    variance: sum((r) => r.totalAbsVariance),
    inFlight: sum((r) => r.inFlightEntries),
    skus: sum((r) => r.skus),
    runs: x.audit.length,
    badRuns: x.audit.filter((r) => r.variance !== 0).length,
    maxVariance: x.audit.reduce((a, r) => Math.max(a, Math.abs(r.variance)), 0),
    maxInFlight: x.audit.reduce((a, r) => Math.max(a, r.inFlight), 0),
  };
  const during = d.badRuns
    ? `${d.badRuns} run(s) with variance, max ${d.maxVariance}`
    : 'variance 0 every time';
  return {
    invariant: 'reconciler_variance',
    ok: d.variance === 0 && d.badRuns === 0,
    summary:
      `final reconcileAll: variance ${d.variance} (${d.inFlight} ledger entries in flight, ${d.skus} SKUs); ` +
      `the reconciler service ran ${d.runs} time(s) during the demo: ${during}, with up to ${fmt(d.maxInFlight)} entries in flight`,
    details: d,
  };
}
