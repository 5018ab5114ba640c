import { z } from 'zod';
import { commonEnv, durabilityEnv, replyEnv, int, metricsPort, workerEnv } from '@holdfast/shared';

/** Every setting of the reserver, parsed once at start (see README, Configuration). */
export const reserverEnv = z
  .object({
    ...commonEnv,
    ...workerEnv,
    ...metricsPort(9102),
    ...replyEnv,
    HOLD_DEFAULT_SECONDS: int(600, 1, 86_400),
    HOLD_MIN_SECONDS: int(1, 1, 86_400),
    HOLD_MAX_SECONDS: int(3_600, 1, 86_400),
    /** A hold's whole life including extensions. */
    HOLD_MAX_TOTAL_SECONDS: int(7_200, 1, 7 * 86_400),
    /** How long a finished (confirmed/cancelled/expired) hold is kept for precise rejections. */
    FINISHED_HOLD_TTL_SECONDS: int(86_400, 60, 30 * 86_400),
    /** Approximate cap on each checkout:outcomes:{shard} (0 = holdfast never trims it). */
    OUTCOMES_MAXLEN: int(1_000_000, 0, 1_000_000_000),
    /** Expiry sweep period: a hold is released within its deadline plus this. */
    SWEEP_INTERVAL_MS: int(1_000, 10, 60_000),
    SWEEP_BATCH: int(1_000, 1, 100_000),
    /**
     * A cart across shards whose other shards have not all answered by then is rejected
     * (`shard_timeout`) and every part released (docs/cluster.md).
     */
    CROSS_SHARD_TIMEOUT_MS: int(10_000, 100, 600_000),
    /**
     * WAIT for replicas after each batch of decisions (docs/cluster.md, "The failover window").
     * A short timeout: while a replica lags, every batch of the shard waits this long.
     */
    ...durabilityEnv(100),
  })
  .superRefine((c, ctx) => {
    if (c.HOLD_MIN_SECONDS > c.HOLD_MAX_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HOLD_MIN_SECONDS'],
        message: 'must be ≤ HOLD_MAX_SECONDS',
      });
    }
    if (
      c.HOLD_DEFAULT_SECONDS < c.HOLD_MIN_SECONDS ||
      c.HOLD_DEFAULT_SECONDS > c.HOLD_MAX_SECONDS
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['HOLD_DEFAULT_SECONDS'],
        message: 'must lie within HOLD_MIN_SECONDS..HOLD_MAX_SECONDS',
      });
    }
    if (c.HOLD_MAX_TOTAL_SECONDS < c.HOLD_MAX_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HOLD_MAX_TOTAL_SECONDS'],
        message: 'must be ≥ HOLD_MAX_SECONDS',
      });
    }
  });
export type ReserverConfig = z.infer<typeof reserverEnv>;

export function gateConfig(c: ReserverConfig) {
  return {
    dedupeTtlSeconds: c.DEDUPE_TTL_SECONDS,
    outcomesMaxLen: c.OUTCOMES_MAXLEN,
    holdDefaultSeconds: c.HOLD_DEFAULT_SECONDS,
    holdMinSeconds: c.HOLD_MIN_SECONDS,
    holdMaxSeconds: c.HOLD_MAX_SECONDS,
    holdMaxTotalSeconds: c.HOLD_MAX_TOTAL_SECONDS,
    finishedHoldTtlSeconds: c.FINISHED_HOLD_TTL_SECONDS,
    crossShardTimeoutMs: c.CROSS_SHARD_TIMEOUT_MS,
    replyMaxLen: c.REPLY_MAXLEN,
    replyTtlSeconds: c.REPLY_TTL_SECONDS,
  };
}
