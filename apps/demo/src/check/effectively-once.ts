/**
 * Effectively once: every event the producers XADDed (each reserve, confirm and cancel) has
 * exactly one outcome; no event_id has two; no outcome belongs to an event nobody sent (an
 * expiry has its own event_id); and the tap saw exactly as many checkout:events entries as
 * the crowd sent.
 */
import type { CrowdResult } from '@holdfast/crowd';
import { fmt } from '../format.js';
import type { OutcomeLog } from '../observe/outcome-tap.js';
import type { VerdictOf } from './verdict.js';

export interface EffectivelyOnceInputs {
  /** event_id → XADD time, for every checkout:events entry the tap saw. */
  xaddMs: ReadonlyMap<string, number>;
  outcomes: Pick<OutcomeLog, 'byEvent' | 'repeated' | 'byType'>;
  crowd: Pick<CrowdResult, 'sent' | 'followUps'>;
  /** checkout:events entries the tap saw. */
  eventsSeen: number;
}

export interface EffectivelyOnceDetails {
  /** Events the crowd sent: reserves + follow-ups. */
  expectedEvents: number;
  reserves: number;
  followUps: number;
  expiries: number;
  /** event_ids with more than one outcome. */
  repeated: string[];
  /** Events sent without an outcome, and up to five of them. */
  missing: number;
  missingExamples: string[];
  /** Outcomes (other than expiries) for events nobody sent. */
  unknown: number;
  eventsSeen: number;
}

export type EffectivelyOnceVerdict = VerdictOf<'effectively_once', EffectivelyOnceDetails>;

export function effectivelyOnce(x: EffectivelyOnceInputs): EffectivelyOnceVerdict {
  const byEvent = x.outcomes.byEvent;
  let missing = 0;
  const missingExamples: string[] = [];
  for (const ev of x.xaddMs.keys()) {
    if (byEvent.has(ev)) continue;
    missing++;
    if (missingExamples.length < 5) missingExamples.push(ev);
  }
  let unknown = 0;
  for (const [ev, o] of byEvent) if (o.type !== 'expire' && !x.xaddMs.has(ev)) unknown++;
  const details: EffectivelyOnceDetails = {
    expectedEvents: x.crowd.sent + x.crowd.followUps,
    reserves: x.crowd.sent,
    followUps: x.crowd.followUps,
    expiries: x.outcomes.byType.expire ?? 0,
    repeated: [...x.outcomes.repeated],
    missing,
    missingExamples,
    unknown,
    eventsSeen: x.eventsSeen,
  };
  const problems = problemsOf(details);
  return {
    invariant: 'effectively_once',
    ok: problems.length === 0,
    summary: problems.length
      ? problems.join('; ')
      : `each of the ${fmt(details.expectedEvents)} events (${fmt(details.reserves)} reserves, ${fmt(details.followUps)} confirms/cancels) has exactly one outcome; ${fmt(details.expiries)} expiries, each with its own event_id; no ledger change written twice (MySQL primary key (change_id, sku), changes counted below)`,
    details,
  };
}

function problemsOf(d: EffectivelyOnceDetails): string[] {
  const problems: string[] = [];
  if (d.repeated.length)
    problems.push(
      `${d.repeated.length} event_id(s) with more than one outcome (e.g. ${d.repeated.slice(0, 3).join(', ')})`,
    );
  if (d.missing)
    problems.push(
      `${d.missing} event(s) without an outcome (e.g. ${d.missingExamples.join(', ')})`,
    );
  if (d.unknown) problems.push(`${d.unknown} outcome(s) for events nobody sent`);
  if (d.eventsSeen !== d.expectedEvents)
    problems.push(
      `the tap saw ${d.eventsSeen} checkout:events entries, the crowd sent ${d.expectedEvents}`,
    );
  return problems;
}
