/**
 * Holds expire: no hold is active and no unit is held at the end; every hold neither
 * confirmed nor cancelled got an `expired` outcome; none expired before its deadline; and each
 * was released within its deadline plus one sweep interval plus a scheduling grace.
 */
import type { StockRow } from '@holdfast/shared/inspect';
import { fmt } from '../format.js';
import type { OutcomeLog } from '../observe/outcome-tap.js';
import { percentiles } from '../stats.js';
import type { VerdictOf } from './verdict.js';

/**
 * The contract releases a hold "within its deadline plus one sweep interval". The reserver's
 * sweeper waits one interval *after* a sweep finished, and under load its Redis calls queue
 * behind the decision pipelines, so the demo allows this much on top, and reports how many
 * holds needed it.
 */
export const EXPIRY_GRACE_MS = 1_000;

export interface HoldsExpireInputs {
  outcomes: Pick<OutcomeLog, 'byEvent' | 'byStatus'>;
  /** Entries of holds:due at the end. */
  activeHolds: number;
  redisStock: StockRow[];
  mysqlStock: StockRow[];
  sweepIntervalMs: number;
}

export interface HoldsExpireDetails {
  active: number;
  /** Units still held, Redis and MySQL together. */
  heldLeft: number;
  expired: number;
  /** Holds neither confirmed nor cancelled: each must have expired. */
  expectedExpired: number;
  /** Holds released before their deadline. */
  early: number;
  /** How long after its deadline each expired hold was released (ms). */
  maxLatenessMs: number;
  p99LatenessMs: number;
  laterThanSweepInterval: number;
  sweepIntervalMs: number;
  graceMs: number;
}

export type HoldsExpireVerdict = VerdictOf<'holds_expire', HoldsExpireDetails>;

/** For each expired hold: its release time minus its deadline (the reserved outcome's expires_at). */
export function expiryLateness(byEvent: OutcomeLog['byEvent']): number[] {
  const deadline = new Map<string, number>();
  for (const o of byEvent.values())
    if (o.status === 'reserved' && o.expiresAt) deadline.set(o.checkoutId, o.expiresAt);
  const lateness: number[] = [];
  for (const o of byEvent.values()) {
    if (o.status !== 'expired') continue;
    const due = deadline.get(o.checkoutId);
    if (due !== undefined) lateness.push(o.at - due);
  }
  return lateness;
}

export function holdsExpire(x: HoldsExpireInputs): HoldsExpireVerdict {
  const st = x.outcomes.byStatus;
  const lateness = expiryLateness(x.outcomes.byEvent);
  const late = percentiles(lateness);
  const held = (rows: StockRow[]) => rows.reduce((a, r) => a + r.held, 0);
  const details: HoldsExpireDetails = {
    active: x.activeHolds,
    heldLeft: held(x.redisStock) + held(x.mysqlStock),
    expired: st.expired ?? 0,
    expectedExpired: (st.reserved ?? 0) - (st.confirmed ?? 0) - (st.cancelled ?? 0),
    early: lateness.filter((l) => l < 0).length,
    maxLatenessMs: late.max,
    p99LatenessMs: late.p99,
    laterThanSweepInterval: lateness.filter((l) => l > x.sweepIntervalMs).length,
    sweepIntervalMs: x.sweepIntervalMs,
    graceMs: EXPIRY_GRACE_MS,
  };
  const problems = problemsOf(details);
  return {
    invariant: 'holds_expire',
    ok: problems.length === 0,
    summary: problems.length ? problems.join('; ') : fine(details),
    details,
  };
}

function fine(d: HoldsExpireDetails): string {
  const later = d.laterThanSweepInterval
    ? `${fmt(d.laterThanSweepInterval)} later than one sweep interval, ${d.sweepIntervalMs} ms; `
    : '';
  return `0 active holds, 0 units held; all ${fmt(d.expectedExpired)} holds neither confirmed nor cancelled expired, at most ${fmt(d.maxLatenessMs)} ms after their deadline (p99 ${fmt(d.p99LatenessMs)} ms; ${later}bound checked: sweep interval + ${d.graceMs} ms scheduling grace)`;
}

function problemsOf(d: HoldsExpireDetails): string[] {
  const problems: string[] = [];
  if (d.active) problems.push(`${d.active} hold(s) still active`);
  if (d.heldLeft) problems.push(`${d.heldLeft} unit(s) still held`);
  if (d.expired !== d.expectedExpired)
    problems.push(
      `${d.expired} expired, but ${d.expectedExpired} holds were neither confirmed nor cancelled`,
    );
  if (d.early) problems.push(`${d.early} hold(s) expired before their deadline`);
  if (d.maxLatenessMs > d.sweepIntervalMs + d.graceMs)
    problems.push(
      `a hold was released ${d.maxLatenessMs} ms after its deadline (bound: one sweep interval, ${d.sweepIntervalMs} ms, + ${d.graceMs} ms scheduling grace)`,
    );
  return problems;
}
