/**
 * The ledger-writer's one retry loop and one backoff formula. Each caller brings its own
 * parameters and says which failures are worth another attempt:
 *
 *   apply-batch.ts   one transaction after a deadlock, lock timeout, duplicate race or lost
 *                    connection (a few attempts, milliseconds apart);
 *   writer.ts        a whole batch while MySQL is down or keeps failing (until it works or the
 *                    service stops), and a change MySQL refused for now (a few attempts within
 *                    about a second).
 *
 * The wait before retry n (0 = the first retry) is min(capMs, baseMs · factor^n): exactly that
 * with jitter 'none', a uniformly random wait in [0, that] with jitter 'full' ("full jitter":
 * writers that failed together, on the same deadlock, come back at different times).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** Attempts in all, the first one included; Infinity: until it works or `stopped()`. */
  attempts: number;
  /** The wait before the first retry (its upper bound with full jitter), ms. */
  baseMs: number;
  /** Growth of the wait per retry (default 2). */
  factor?: number;
  /** The longest wait, ms. */
  capMs: number;
  jitter: 'full' | 'none';
}

/** The wait before retry `n` (0-based) under `p`; `random` in [0, 1) (Math.random). */
export function backoffMs(
  p: Pick<RetryPolicy, 'baseMs' | 'factor' | 'capMs' | 'jitter'>,
  n: number,
  random: () => number = Math.random,
): number {
  // The exponent is bounded so that base · factor^n stays finite (0 · Infinity would be NaN);
  // every cap used here is reached long before.
  const ceiling = Math.min(p.capMs, p.baseMs * (p.factor ?? 2) ** Math.min(n, 64));
  return p.jitter === 'full' ? random() * ceiling : ceiling;
}

export interface RetryInfo<R extends string> {
  /** Why the attempt failed, as `retryable()` named it. */
  reason: R;
  /** The attempt that failed (1 = the first). */
  attempt: number;
  /** The wait before the next attempt. */
  delayMs: number;
  error: unknown;
}

export interface RetryHooks<R extends string> {
  /** A name for a failure worth another attempt, or false: the error is thrown at once. */
  retryable(err: unknown): R | false;
  /** Before each wait (awaited; a throw ends the loop with that error). */
  onRetry?(info: RetryInfo<R>): void | Promise<void>;
  /** Checked before and after each wait: true ends the loop with RetryStopped. */
  stopped?(): boolean;
}

/** The loop gave up because `stopped()` said so; `cause` is the last attempt's error. */
export class RetryStopped extends Error {
  override name = 'RetryStopped';
  constructor(cause: unknown) {
    super('retry stopped', { cause });
  }
}

/**
 * Runs `attempt(1)`, `attempt(2)`, … until one returns; returns its value. Throws the error of
 * an attempt that is not retryable, or of the last attempt `policy` allows, as it is; throws
 * RetryStopped when `hooks.stopped()` turns true between attempts.
 */
export async function retry<T, R extends string>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  hooks: RetryHooks<R>,
): Promise<T> {
  const attempts = Math.max(1, policy.attempts);
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      const reason = hooks.retryable(error);
      if (reason === false || n >= attempts) throw error;
      const delayMs = backoffMs(policy, n - 1);
      await hooks.onRetry?.({ reason, attempt: n, delayMs, error });
      if (hooks.stopped?.()) throw new RetryStopped(error);
      await sleep(delayMs);
      if (hooks.stopped?.()) throw new RetryStopped(error);
    }
  }
}
