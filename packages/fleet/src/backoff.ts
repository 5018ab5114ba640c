/** How long the supervisor waits before restarting a crashed child. */
import type { BackoffOptions, FleetChild } from './fleet-types.js';

/** Delay before the n-th consecutive restart (n ≥ 1): initial, doubling, capped. */
export function restartDelay(n: number, initialMs = 1_000, maxMs = 30_000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(n, 1) - 1, 30));
}

/** Counts each child's consecutive crashes; a child that ran resetAfterMs starts over at 1. */
export class RestartBackoff {
  private readonly crashes = new Map<FleetChild, number>();

  constructor(private readonly policy: Required<BackoffOptions>) {}

  /** Records a crash of `child` after `uptimeMs`: which consecutive one, and the delay. */
  next(child: FleetChild, uptimeMs: number): { attempt: number; delayMs: number } {
    const { initialMs, maxMs, resetAfterMs } = this.policy;
    const attempt = uptimeMs >= resetAfterMs ? 1 : (this.crashes.get(child) ?? 0) + 1;
    this.crashes.set(child, attempt);
    return { attempt, delayMs: restartDelay(attempt, initialMs, maxMs) };
  }
}
