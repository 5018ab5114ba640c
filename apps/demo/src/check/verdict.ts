/**
 * The shape every invariant check returns: which invariant, whether it holds, a one-line
 * summary (what the terminal and report.html show), and typed details (what was found, so
 * the report takes its figures from the verdicts, never from their text).
 */

export type InvariantName =
  | 'no_oversell'
  | 'conservation'
  | 'effectively_once'
  | 'nothing_lost'
  | 'holds_expire'
  | 'reconciler_variance';

export interface VerdictOf<N extends InvariantName, D> {
  invariant: N;
  ok: boolean;
  summary: string;
  details: D;
}

/** Each invariant's title (the report's `invariants.<name>.title`). */
export const INVARIANT_TITLES: Record<InvariantName, string> = {
  no_oversell: 'No oversell',
  conservation: 'Conservation',
  effectively_once: 'Effectively once',
  nothing_lost: 'Nothing lost',
  holds_expire: 'Holds expire',
  reconciler_variance: 'Reconciler variance 0',
};

/** A verdict as report.json shows it (`invariants.<name>`). */
export interface Check {
  ok: boolean;
  title: string;
  detail: string;
}

export function toCheck(v: VerdictOf<InvariantName, unknown>): Check {
  return { ok: v.ok, title: INVARIANT_TITLES[v.invariant], detail: v.summary };
}
