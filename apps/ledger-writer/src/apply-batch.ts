/**
 * Applies a batch of ledger-stream entries to MySQL: effectively once, in stream order, in one
 * transaction. See docs/mysql.md for the schema and the idempotency argument.
 *
 *   1. ensure a stock row for every touched SKU, then lock the rows (SELECT … FOR UPDATE), both
 *      in sorted SKU order, so concurrent writers never deadlock on each other;
 *   2. read which changes an earlier delivery applied (change_id in inventory_ledger) or refused
 *      (in ledger_incidents) — after the locks, so it sees whatever a competing writer of the
 *      same changes committed;
 *   3. plan: skip the applied ones (and duplicates within the batch), walk the new changes in
 *      stream order against the locked rows; a change that would break an invariant is not
 *      applied and becomes an incident. A change refused before is evaluated again (it may have
 *      been delivered before a change it depends on): applied now, its incident is resolved;
 *   4. write the plan: incidents, resolutions, one multi-row INSERT (chunked) of the ledger rows
 *      — a plain INSERT, so a change committed meanwhile by another writer fails with
 *      ER_DUP_ENTRY and the whole batch rolls back (retryable 'duplicate_race') — and the stock
 *      rows' net deltas, in sorted SKU order;
 *   5. commit.
 *
 * Deciding is plan-batch.ts (pure), talking to MySQL is ledger-store.ts, retrying is
 * retry-policy.ts; this module only puts them in that order.
 */
import {
  RetryableMysqlError,
  isRetryableMysqlError,
  type Pool,
  type RetryLabel,
} from '@holdfast/shared/mysql';
import {
  inTransaction,
  insertLedgerRows,
  lockStockRows,
  readAppliedChanges,
  readRefusedChanges,
  recordIncidents,
  resolveIncidents,
  updateStockRows,
} from './ledger-store.js';
import type { LedgerEntry } from './ledger-entry.js';
import {
  incidentKeys,
  ledgerKeys,
  planBatch,
  prepareBatch,
  type LedgerIncident,
  type PreparedBatch,
} from './plan-batch.js';
import { retry, type RetryPolicy } from './retry-policy.js';

// Tests and helpers import these from here, as before the split into layers.
export { RetryableMysqlError, isRetryableMysqlError, type RetryLabel };
export {
  parseLedgerEntry,
  type LedgerEntry,
  type LedgerKind,
  type LedgerLine,
} from './ledger-entry.js';
export { compareSku, type LedgerIncident } from './plan-batch.js';

export interface ApplyResult {
  /** Changes applied by this call (ledger rows written, stock updated). */
  applied: number;
  /** Entries skipped: change already in the ledger, or repeated within the batch. */
  duplicates: number;
  /** Changes refused (not applied); the caller logs / counts / dead-letters them. */
  incidents: LedgerIncident[];
  /** inventory_ledger rows inserted. */
  rowsWritten: number;
  /** Applied changes that an earlier delivery had refused (their incidents got resolved_at). */
  resolved: number;
  /** Transactions it took (> 1 after a deadlock / lock timeout / duplicate race / reconnect). */
  attempts: number;
}

export interface ApplyOptions {
  /**
   * Attempts for retryable failures (deadlock, lock timeout, duplicate race, connection) before
   * the error is thrown as a RetryableMysqlError (default 3; 1 = never retry here). Re-running
   * is safe: every attempt is one transaction and the ledger's key makes it effectively once.
   */
  maxAttempts?: number;
  /** Called before each retry. */
  onRetry?: (label: RetryLabel, attempt: number, err: unknown) => void;
  /**
   * Called inside the transaction right before COMMIT (fault injection in tests: a throw
   * rolls the whole batch back and propagates like any error).
   */
  beforeCommit?: () => void | Promise<void>;
}

/**
 * Between transactions of one batch: 0–20 ms, 0–40 ms, … at most 1 s. Short: a deadlock or a
 * duplicate race is over as soon as the other transaction ends; the jitter keeps the writers
 * that collided from colliding again.
 */
const TRANSACTION_BACKOFF = { baseMs: 20, capMs: 1_000, jitter: 'full' } as const;

/**
 * Applies `entries` (read from `shard`'s ledger stream) in one transaction; retries transient
 * failures up to `opts.maxAttempts` times, then throws RetryableMysqlError (re-run the batch)
 * or the permanent error.
 */
export async function applyLedgerBatch(
  pool: Pool,
  shard: string,
  entries: LedgerEntry[],
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const batch = prepareBatch(entries);
  const policy: RetryPolicy = { ...TRANSACTION_BACKOFF, attempts: opts.maxAttempts ?? 3 };
  try {
    return await retry(
      policy,
      async (attempt) => ({ ...(await applyOnce(pool, shard, batch, opts)), attempts: attempt }),
      {
        retryable: isRetryableMysqlError,
        onRetry: ({ reason, attempt, error }) => opts.onRetry?.(reason, attempt, error),
      },
    );
  } catch (err) {
    const label = isRetryableMysqlError(err);
    if (!label || err instanceof RetryableMysqlError) throw err;
    throw new RetryableMysqlError(
      label,
      `ledger batch failed (${label}): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

async function applyOnce(
  pool: Pool,
  shard: string,
  batch: PreparedBatch,
  opts: ApplyOptions,
): Promise<Omit<ApplyResult, 'attempts'>> {
  if (batch.changes.length === 0 && batch.invalid.length === 0) {
    return {
      applied: 0,
      duplicates: batch.duplicatesInBatch,
      incidents: [],
      rowsWritten: 0,
      resolved: 0,
    };
  }
  return inTransaction(pool, async (conn) => {
    const rows = await lockStockRows(conn, batch.lockOrder);
    const applied = await readAppliedChanges(conn, ledgerKeys(batch));
    const refused = await readRefusedChanges(conn, incidentKeys(batch));
    const plan = planBatch(batch, shard, { rows, applied, refused });
    await recordIncidents(conn, plan.incidentRows);
    await resolveIncidents(conn, plan.resolved);
    const rowsWritten = await insertLedgerRows(conn, plan.ledgerRows);
    await updateStockRows(conn, plan.stockUpdates);
    await opts.beforeCommit?.();
    return {
      applied: plan.apply.length,
      duplicates: plan.duplicates,
      incidents: plan.incidents,
      rowsWritten,
      resolved: plan.resolved.length,
    };
  });
}
