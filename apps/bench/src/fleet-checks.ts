/**
 * A's invariants at the end of a run: every SKU's counters in Redis (./redis-checks.ts), one
 * outcome per event, variance 0 by the reconciler's own computation, and — once the ledger
 * drained — MySQL's books equal to Redis row by row with one `reserve` change per accepted
 * decision.
 */
import type { Keys, Redis } from '@holdfast/shared';
import { createMysqlPool } from '@holdfast/shared/mysql';
import {
  booksMismatch,
  mysqlLedgerCounts,
  readMysqlStock,
  type StockRow,
} from '@holdfast/shared/inspect';
import { reconcileAll } from '@holdfast/reconciler';
import type { OutcomeTally } from './fleet-outcomes.js';
import { checkRedisStock, type StockCheck } from './redis-checks.js';

export interface FleetChecks {
  stock: StockCheck;
  /** reconcileAll()'s summed |variance|; null when it failed. */
  variance: number | null;
  violations: string[];
}

export async function checkFleet(
  run: {
    admin: Redis;
    keys: Keys;
    mysqlUrl: string;
    armed: ReadonlyArray<readonly [string, number]>;
  },
  tally: OutcomeTally,
  drained: boolean,
): Promise<FleetChecks> {
  const stock = await checkRedisStock(run.admin, run.keys, run.armed, tally.held);
  const violations = [...stock.violations, ...tally.violations()];
  const reconciled = await reconcileVariance(run.admin, run.keys, run.mysqlUrl);
  violations.push(...reconciled.violations);
  if (drained) {
    const accepted = { measured: tally.accepted, warmUp: tally.warmAccepted };
    violations.push(...(await booksViolations(run.mysqlUrl, stock.rows, accepted)));
  } else {
    violations.push('ledger not drained: MySQL books not checked');
  }
  return { stock, variance: reconciled.variance, violations };
}

/** The reconciler's own computation over every SKU: summed |variance| must be 0. */
async function reconcileVariance(
  admin: Redis,
  keys: Keys,
  mysqlUrl: string,
): Promise<{ variance: number | null; violations: string[] }> {
  const pool = createMysqlPool(mysqlUrl, { connectionLimit: 2 });
  try {
    const reports = await reconcileAll(admin, pool, keys);
    const variance = reports.reduce((s, r) => s + r.totalAbsVariance, 0);
    if (variance === 0) return { variance, violations: [] };
    const v = reports.flatMap((r) => r.variances).slice(0, 5);
    return { variance, violations: [`reconcile variance ${variance}: ${JSON.stringify(v)}`] };
  } catch (err) {
    return { variance: null, violations: [`reconcileAll failed: ${(err as Error).message}`] };
  } finally {
    await pool.end().catch(() => {});
  }
}

/** MySQL's books = Redis row by row; one `reserve` change in MySQL per accepted decision. */
async function booksViolations(
  mysqlUrl: string,
  redisRows: StockRow[],
  accepted: { measured: number; warmUp: number },
): Promise<string[]> {
  const out: string[] = [];
  const mismatch = booksMismatch(redisRows, await readMysqlStock(mysqlUrl));
  if (mismatch.length)
    out.push(`MySQL books ≠ Redis on ${mismatch.length} SKUs: ${mismatch.slice(0, 3).join('; ')}`);
  const reserves = (await mysqlLedgerCounts(mysqlUrl)).byKind.reserve ?? 0;
  if (reserves !== accepted.measured + accepted.warmUp) {
    out.push(
      `${reserves} reserve changes in MySQL, ${accepted.measured} + ${accepted.warmUp} (warm-up) accepted`,
    );
  }
  return out;
}
