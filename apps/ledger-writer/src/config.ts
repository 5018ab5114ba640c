import { z } from 'zod';
import { commonEnv, durabilityEnv, int, metricsPort, mysqlUrl, workerEnv } from '@holdfast/shared';

/** Every setting of the ledger-writer, parsed once at start (see README, Configuration). */
export const ledgerWriterEnv = z.object({
  ...commonEnv,
  ...workerEnv,
  ...metricsPort(9103),
  MYSQL_URL: mysqlUrl,
  /**
   * Entries per MySQL transaction (upper bound; under light load batches are smaller). 500, not
   * 1,000: the same rows/s in the ledger-rate probe (27–31k either way) for 10–25 MB less peak
   * RSS, which keeps the writer under the 150 MB budget (docs/benchmarks.md).
   */
  BATCH_SIZE: int(500, 1, 5_000),
  /** Ceiling on ledger rows written per second by this replica (MySQL stays healthy). 0 = none. */
  LEDGER_MAX_ROWS_PER_SECOND: int(20_000, 0, 10_000_000),
  /** Ledger entries are never dead-lettered for MySQL being down: only a huge count does it. */
  MAX_DELIVERIES: int(1_000, 1, 1_000_000),
  MYSQL_POOL_SIZE: int(4, 1, 64),
  /**
   * A change MySQL refuses (it would break an invariant) is first left pending: with several
   * writers a confirm can reach MySQL before its reserve. After this many deliveries it is
   * dead-lettered as an incident.
   */
  LEDGER_INCIDENT_DELIVERIES: int(5, 1, 1_000),
  /** Backoff cap between retries while MySQL is down or deadlocking. */
  RETRY_MAX_MS: int(10_000, 10, 300_000),
  /**
   * WAIT for replicas before each MySQL commit (docs/cluster.md, "The failover window"). Only
   * MySQL waits, so a longer timeout than the reserver's.
   */
  ...durabilityEnv(1_000),
});
export type LedgerWriterConfig = z.infer<typeof ledgerWriterEnv>;
