import { z } from 'zod';
import { commonEnv, int, metricsPort, mysqlUrl } from '@holdfast/shared';

/** Every setting of the reconciler, parsed once at start (see README, Configuration). */
export const reconcilerEnv = z.object({
  ...commonEnv,
  ...metricsPort(9104),
  MYSQL_URL: mysqlUrl,
  /** One reconciliation per interval across all replicas (a BullMQ job scheduler). */
  RECONCILE_INTERVAL_MS: int(60_000, 1_000, 86_400_000),
  /** Per-SKU variance series exported at most (largest first); the rest count in the total. */
  RECONCILE_MAX_SKU_SERIES: int(100, 1, 10_000),
  /** Audit stream entries kept (approximate). */
  AUDIT_MAXLEN: int(10_000, 10, 10_000_000),
  MYSQL_POOL_SIZE: int(2, 1, 16),
});
export type ReconcilerConfig = z.infer<typeof reconcilerEnv>;
