/**
 * Phase 4, check the invariants: each of the contract's invariants checked by its own pure
 * function on what the run observed, giving a typed verdict. The report is built from these.
 */
import { conservation, unbalancedSkus, type ConservationVerdict } from './conservation.js';
import { effectivelyOnce, type EffectivelyOnceVerdict } from './effectively-once.js';
import { holdsExpire, type HoldsExpireVerdict } from './holds-expire.js';
import { noOversell, type NoOversellVerdict } from './no-oversell.js';
import { nothingLost, type NothingLostVerdict } from './nothing-lost.js';
import { reconcilerVariance, type ReconcilerVarianceVerdict } from './reconciler-variance.js';
import type { Observation } from '../observation.js';

export type Verdict =
  | NoOversellVerdict
  | ConservationVerdict
  | EffectivelyOnceVerdict
  | NothingLostVerdict
  | HoldsExpireVerdict
  | ReconcilerVarianceVerdict;

/** Every verdict, under its report.json name (`invariants.<name>`), in the report's order. */
export interface Verdicts {
  noOversell: NoOversellVerdict;
  conservation: ConservationVerdict;
  effectivelyOnce: EffectivelyOnceVerdict;
  nothingLost: NothingLostVerdict;
  holdsExpire: HoldsExpireVerdict;
  reconcilerVariance: ReconcilerVarianceVerdict;
}

export function checkInvariants(x: Observation): Verdicts {
  return {
    noOversell: noOversell(x),
    conservation: conservation(x),
    effectivelyOnce: effectivelyOnce(x),
    nothingLost: nothingLost({ ...x, byStatus: x.outcomes.byStatus }),
    holdsExpire: holdsExpire(x),
    reconcilerVariance: reconcilerVariance(x),
  };
}

export const allHold = (v: Verdicts) => Object.values(v).every((c: Verdict) => c.ok);

/** SKUs that broke no-oversell or whose units did not add up, anywhere (must be none). */
export function oversoldSkus(v: Verdicts): string[] {
  return [...new Set([...v.noOversell.details.oversoldSkus, ...unbalancedSkus(v.conservation)])];
}
