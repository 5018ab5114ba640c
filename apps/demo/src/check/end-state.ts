/**
 * What Redis and MySQL hold once the run settled: every SKU's counters on both sides, the
 * ledger in MySQL, a final reconcileAll, dead letters, active holds. The only reads of the
 * check phase; the checks themselves are pure (./invariants.ts).
 */
import type { Redis } from '@holdfast/shared';
import { createMysqlPool, type Pool, type RowDataPacket } from '@holdfast/shared/mysql';
import {
  mysqlLedgerCounts,
  readAllStock,
  readMysqlStock,
  type StockRow,
} from '@holdfast/shared/inspect';
import { reconcileAll, type ReconcileReport } from '@holdfast/reconciler';
import type { DemoContext } from '../context.js';
import { activeHolds } from '../observe/settle.js';
import type { DemoTarget } from '../setup/target.js';
import type { LedgerCounts } from './nothing-lost.js';

export interface EndState {
  redisStock: StockRow[];
  /** Per-user limit of each SKU in Redis. */
  perUser: Map<string, number>;
  mysqlStock: StockRow[];
  mysqlLedger: LedgerCounts;
  /** The newest ledger row's written_at (epoch ms), null when there is none. */
  lastCommitAt: number | null;
  /** Unresolved ledger incidents. */
  incidents: number;
  deadLetters: number;
  activeHolds: number;
  reconcile: ReconcileReport[];
}

export async function readEndState(ctx: DemoContext, target: DemoTarget): Promise<EndState> {
  const redis = ctx.redis!;
  const pool = (ctx.pool = createMysqlPool(target.mysqlUrl, {
    connectionLimit: 2,
    applicationName: 'holdfast-demo',
  }));
  const [redisStock, mysqlStock, mysqlLedger, reconcile, deadLetters, holds] = await Promise.all([
    readAllStock(redis, target.keys),
    readMysqlStock(target.mysqlUrl),
    mysqlLedgerCounts(target.mysqlUrl),
    reconcileAll(redis, pool, target.keys),
    redis.xlen(target.keys.streams.dead),
    activeHolds(redis, target),
  ]);
  const perUser = await readPerUser(redis, target, redisStock);
  const { incidents, lastCommitAt } = await readLedgerState(pool);
  return {
    redisStock,
    perUser,
    mysqlStock,
    mysqlLedger,
    lastCommitAt,
    incidents,
    deadLetters,
    activeHolds: holds,
    reconcile,
  };
}

async function readPerUser(
  redis: Redis,
  target: DemoTarget,
  stock: StockRow[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  // Per shard: the SKUs it holds, read in one pipeline (one slot on a Redis Cluster).
  for (const shard of target.keys.allShards) {
    const sk = target.keys.shard(shard);
    const skus = new Set(await redis.smembers(sk.skus));
    const mine = stock.filter((r) => skus.has(r.sku));
    const p = redis.pipeline();
    for (const r of mine) p.hget(sk.stock(r.sku), 'per_user');
    const res = (await p.exec()) ?? [];
    mine.forEach((r, i) => out.set(r.sku, Number(res[i]?.[1] ?? 0)));
  }
  return out;
}

/** Unresolved ledger incidents and the newest ledger row's commit time. */
async function readLedgerState(
  pool: Pool,
): Promise<{ incidents: number; lastCommitAt: number | null }> {
  const [inc] = await pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM ledger_incidents WHERE resolved_at IS NULL',
  );
  const [last] = await pool.query<RowDataPacket[]>(
    'SELECT ROUND(UNIX_TIMESTAMP(MAX(written_at)) * 1000) AS t FROM inventory_ledger',
  );
  const t: unknown = last[0]?.t;
  return {
    incidents: Number(inc[0]?.n ?? 0),
    lastCommitAt: t === null || t === undefined ? null : Number(t),
  };
}
