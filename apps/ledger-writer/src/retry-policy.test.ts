/**
 * The retry policy on its own: the backoff formula (growth, cap, jitter bounds) and the loop
 * (attempt counting, which errors end it at once, the stop check). No I/O; the loop's waits are
 * 0–8 ms timers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  RetryStopped,
  backoffMs,
  retry,
  type RetryInfo,
  type RetryPolicy,
} from './retry-policy.js';

class Transient extends Error {}
class Permanent extends Error {}
const transient = (err: unknown) => err instanceof Transient && 'transient';

/** No waiting: the loop's logic without its timing. */
const instant = (attempts: number): RetryPolicy => ({
  attempts,
  baseMs: 0,
  capMs: 0,
  jitter: 'none',
});

/** An attempt function that fails with `errors[i]` on call i + 1, then returns 'ok'. */
function failing(...errors: Error[]) {
  const calls: number[] = [];
  const fn = async (n: number) => {
    calls.push(n);
    const err = errors[calls.length - 1];
    if (err) throw err;
    return 'ok';
  };
  return { fn, calls };
}

describe('backoffMs', () => {
  const policy = { baseMs: 50, capMs: 1_000, jitter: 'none' } as const;

  it('grows by the factor from baseMs and stops at capMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffMs(policy, n))).toEqual([
      50, 100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect([0, 1, 2, 3].map((n) => backoffMs({ ...policy, factor: 3 }, n))).toEqual([
      50, 150, 450, 1_000,
    ]);
  });

  it('stays at the cap, finite, however many retries', () => {
    for (const n of [64, 1_000, 1e9, Infinity]) expect(backoffMs(policy, n)).toBe(1_000);
    expect(backoffMs({ ...policy, baseMs: 0 }, 1e9)).toBe(0);
  });

  it('full jitter: random · the unjittered wait, so within [0, that]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.nat(100),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseMs, factor, capMs, n, r) => {
          const ceiling = backoffMs({ baseMs, factor, capMs, jitter: 'none' }, n);
          const wait = backoffMs({ baseMs, factor, capMs, jitter: 'full' }, n, () => r);
          expect(ceiling).toBe(Math.min(capMs, baseMs * factor ** n));
          expect(wait).toBe(r * ceiling);
          expect(wait).toBeGreaterThanOrEqual(0);
          expect(wait).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });
});

describe('retry', () => {
  it('returns the first success, numbering attempts from 1', async () => {
    const { fn, calls } = failing(new Transient(), new Transient());
    expect(await retry(instant(5), fn, { retryable: transient })).toBe('ok');
    expect(calls).toEqual([1, 2, 3]);
  });

  it('makes exactly `attempts` attempts, then throws the last error as it is', async () => {
    const errors = [new Transient('1'), new Transient('2'), new Transient('3')];
    const { fn, calls } = failing(...errors, new Transient('4'));
    await expect(retry(instant(3), fn, { retryable: transient })).rejects.toBe(errors[2]);
    expect(calls).toEqual([1, 2, 3]);
  });

  it('attempts 1 (or less) never retries', async () => {
    for (const attempts of [1, 0, -1]) {
      const { fn, calls } = failing(new Transient());
      const retries: unknown[] = [];
      await expect(
        retry(instant(attempts), fn, {
          retryable: transient,
          onRetry: (i) => void retries.push(i),
        }),
      ).rejects.toBeInstanceOf(Transient);
      expect(calls).toEqual([1]);
      expect(retries).toEqual([]);
    }
  });

  it('Infinity: retries until it works', async () => {
    const { fn, calls } = failing(...Array.from({ length: 50 }, () => new Transient()));
    expect(await retry(instant(Infinity), fn, { retryable: transient })).toBe('ok');
    expect(calls).toHaveLength(51);
  });

  it('an error that is not retryable ends the loop at once', async () => {
    const permanent = new Permanent();
    const { fn, calls } = failing(new Transient(), permanent, new Transient());
    const retries: number[] = [];
    await expect(
      retry(instant(Infinity), fn, {
        retryable: transient,
        onRetry: ({ attempt }) => void retries.push(attempt),
      }),
    ).rejects.toBe(permanent);
    expect(calls).toEqual([1, 2]);
    expect(retries).toEqual([1]);
  });

  it('tells onRetry the reason, the failed attempt, the wait and the error', async () => {
    const errors = [new Transient('a'), new Transient('b')];
    const { fn } = failing(...errors);
    const seen: Array<RetryInfo<'transient'>> = [];
    const policy: RetryPolicy = { attempts: 3, baseMs: 1, factor: 2, capMs: 8, jitter: 'none' };
    await retry(policy, fn, { retryable: transient, onRetry: (i) => void seen.push(i) });
    expect(seen).toEqual([
      { reason: 'transient', attempt: 1, delayMs: 1, error: errors[0] },
      { reason: 'transient', attempt: 2, delayMs: 2, error: errors[1] },
    ]);
  });

  it('full jitter: every wait within [0, min(cap, base · 2^n)]', async () => {
    const { fn } = failing(...Array.from({ length: 10 }, () => new Transient()));
    const waits: number[] = [];
    const policy: RetryPolicy = { attempts: 11, baseMs: 1, capMs: 8, jitter: 'full' };
    await retry(policy, fn, {
      retryable: transient,
      onRetry: ({ delayMs }) => void waits.push(delayMs),
    });
    expect(waits).toHaveLength(10);
    waits.forEach((w, n) => {
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThanOrEqual(Math.min(8, 2 ** n));
    });
  });

  it('awaits onRetry before the next attempt; a throw from it ends the loop', async () => {
    let touched = 0;
    const calls: number[] = [];
    await retry(
      instant(3),
      async (n) => {
        calls.push(n);
        expect(touched).toBe(n - 1);
        if (n < 3) throw new Transient();
      },
      {
        retryable: transient,
        // Longer than the policy's own (0 ms) wait: not awaited, the next attempt would come first.
        onRetry: async () => {
          await sleep(20);
          touched++;
        },
      },
    );
    expect(calls).toEqual([1, 2, 3]);

    const broken = new Error('onRetry failed');
    const { fn, calls: calls2 } = failing(new Transient(), new Transient());
    await expect(
      retry(instant(5), fn, {
        retryable: transient,
        onRetry: () => {
          throw broken;
        },
      }),
    ).rejects.toBe(broken);
    expect(calls2).toEqual([1]);
  });

  describe('stopped()', () => {
    it('is not asked before the first attempt', async () => {
      const { fn, calls } = failing();
      expect(await retry(instant(3), fn, { retryable: transient, stopped: () => true })).toBe('ok');
      expect(calls).toEqual([1]);
    });

    it('true after a failure: RetryStopped (cause: that failure), no further attempt', async () => {
      const err = new Transient();
      const { fn, calls } = failing(err, err);
      const retries: number[] = [];
      const out = await retry(instant(Infinity), fn, {
        retryable: transient,
        stopped: () => true,
        onRetry: ({ attempt }) => void retries.push(attempt),
      }).catch((e: unknown) => e);
      expect(out).toBeInstanceOf(RetryStopped);
      expect((out as RetryStopped).cause).toBe(err);
      expect(calls).toEqual([1]);
      // onRetry still ran for the failure (it counts and logs it).
      expect(retries).toEqual([1]);
    });

    it('turning true during the wait: stops before the next attempt', async () => {
      const { fn, calls } = failing(new Transient(), new Transient());
      const answers = [false, true];
      const out = await retry(instant(Infinity), fn, {
        retryable: transient,
        stopped: () => answers.shift() ?? true,
      }).catch((e: unknown) => e);
      expect(out).toBeInstanceOf(RetryStopped);
      expect(answers).toEqual([]);
      expect(calls).toEqual([1]);
    });

    it('does not turn a permanent error into RetryStopped', async () => {
      const permanent = new Permanent();
      const { fn } = failing(permanent);
      await expect(
        retry(instant(3), fn, { retryable: transient, stopped: () => true }),
      ).rejects.toBe(permanent);
    });
  });
});
