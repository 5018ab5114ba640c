/**
 * B — the naive MySQL-only checkout holdfast replaces: every buyer is one InnoDB transaction on
 * a pool of 64 connections with 64 buyers in flight, stock rows updated in place.
 *
 *  conditional-update   START TRANSACTION; per line (sorted by SKU)
 *                         UPDATE stock SET available = available - q, sold = sold + q
 *                          WHERE sku = ? AND available >= q
 *                       — 0 rows affected → ROLLBACK (rejected) —; INSERT the order lines; COMMIT
 *  select-for-update    START TRANSACTION; SELECT … WHERE sku IN (…) ORDER BY sku FOR UPDATE;
 *                       check every line; ROLLBACK (rejected) or UPDATE each line, INSERT, COMMIT
 *
 * Lines are locked in SKU order so carts do not deadlock each other; a deadlock or lock-wait
 * timeout is still retried (counted). Each variant gets its own fresh database.
 *
 * Written the way shops write it: every statement is its own round trip to MySQL (no stored
 * procedure, no multi-statement batch), so with --rtt-ms a buyer of one line pays r for each of
 * START TRANSACTION, SELECT … FOR UPDATE, UPDATE, INSERT and COMMIT (5 r; 3 r when rejected:
 * START, SELECT, ROLLBACK) — and the hot row stays locked from the SELECT to the COMMIT, 3 r
 * at least. The conditional variant: START, UPDATE, INSERT, COMMIT (4 r; rejected 3 r), the row
 * locked from the UPDATE to the COMMIT (2 r).
 */
import {
  createMysqlPool,
  dropDatabase,
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from '@holdfast/shared/mysql';
import { spawnCollateral, type CollateralResult, type CollateralSpec } from './collateral.js';
import { freshDatabase, randomId } from './infra.js';
import { loadNow } from './machine.js';
import { ProcessMonitor, benchProcess, serverProcesses } from './proc.js';
import { addUnits } from './redis-checks.js';
import { WARMUP_SKU, warmupSize, warmupStock, type Line, type Scenario } from './scenarios.js';
import { perSecond, summarize } from './stats.js';
import type { BenchOptions } from './options.js';
import type { RunResult } from './types.js';

export type NaiveVariant = 'conditional' | 'for-update';

const VARIANT_NAME: Record<NaiveVariant, string> = {
  conditional: 'conditional-update',
  'for-update': 'select-for-update',
};

const SCHEMA = [
  `CREATE TABLE stock (
     sku       VARCHAR(64) NOT NULL PRIMARY KEY,
     total     INT NOT NULL,
     available INT NOT NULL,
     sold      INT NOT NULL
   ) ENGINE=InnoDB`,
  `CREATE TABLE order_lines (
     order_id   BIGINT NOT NULL,
     sku        VARCHAR(64) NOT NULL,
     qty        INT NOT NULL,
     created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     PRIMARY KEY (order_id, sku)
   ) ENGINE=InnoDB`,
];

/** Order ids of the warm-up buyers (the measured buyers are 0 … n − 1). */
const WARMUP_ORDER_BASE = 1_000_000_000;

const RETRYABLE = new Set([1213 /* ER_LOCK_DEADLOCK */, 1205 /* ER_LOCK_WAIT_TIMEOUT */]);

async function insertOrder(conn: PoolConnection, orderId: number, lines: Line[]): Promise<void> {
  const values: Array<string | number> = [];
  for (const [sku, qty] of lines) values.push(orderId, sku, qty);
  await conn.execute(
    `INSERT INTO order_lines (order_id, sku, qty) VALUES ${lines.map(() => '(?,?,?)').join(',')}`,
    values,
  );
}

/** One buyer's transaction; true = bought, false = rejected (rolled back). */
async function conditional(conn: PoolConnection, orderId: number, lines: Line[]): Promise<boolean> {
  await conn.query('START TRANSACTION');
  for (const [sku, qty] of lines) {
    const [r] = await conn.execute<ResultSetHeader>(
      'UPDATE stock SET available = available - ?, sold = sold + ? WHERE sku = ? AND available >= ?',
      [qty, qty, sku, qty],
    );
    if (r.affectedRows !== 1) {
      await conn.query('ROLLBACK');
      return false;
    }
  }
  await insertOrder(conn, orderId, lines);
  await conn.query('COMMIT');
  return true;
}

async function forUpdate(conn: PoolConnection, orderId: number, lines: Line[]): Promise<boolean> {
  await conn.query('START TRANSACTION');
  const [rows] = await conn.execute<RowDataPacket[]>(
    `SELECT sku, available FROM stock WHERE sku IN (${lines.map(() => '?').join(',')}) ORDER BY sku FOR UPDATE`,
    lines.map(([sku]) => sku),
  );
  const available = new Map(rows.map((r) => [String(r.sku), Number(r.available)]));
  for (const [sku, qty] of lines) {
    if ((available.get(sku) ?? -1) < qty) {
      await conn.query('ROLLBACK');
      return false;
    }
  }
  for (const [sku, qty] of lines) {
    await conn.execute(
      'UPDATE stock SET available = available - ?, sold = sold + ? WHERE sku = ?',
      [qty, qty, sku],
    );
  }
  await insertOrder(conn, orderId, lines);
  await conn.query('COMMIT');
  return true;
}

type Tx = (conn: PoolConnection, orderId: number, lines: Line[]) => Promise<boolean>;

/** One buyer on a pooled connection, retried after a deadlock / lock-wait timeout. */
async function buy(
  pool: Pool,
  tx: Tx,
  orderId: number,
  lines: Line[],
): Promise<{ ok: boolean; retries: number }> {
  for (let retries = 0; ; retries++) {
    const conn = await pool.getConnection();
    try {
      const ok = await tx(conn, orderId, lines);
      conn.release();
      return { ok, retries };
    } catch (err) {
      const errno = (err as { errno?: number }).errno ?? 0;
      if (!RETRYABLE.has(errno)) {
        conn.destroy();
        throw err;
      }
      await conn.query('ROLLBACK').catch(() => {});
      conn.release();
    }
  }
}

async function prepare(pool: Pool, stock: Array<[string, number]>): Promise<void> {
  for (const sql of SCHEMA) await pool.query(sql);
  for (let i = 0; i < stock.length; i += 1000) {
    const chunk = stock.slice(i, i + 1000);
    await pool.query(
      `INSERT INTO stock (sku, total, available, sold) VALUES ${chunk.map(() => '(?,?,?,0)').join(',')}`,
      chunk.flatMap(([sku, units]) => [sku, units, units]),
    );
  }
}

export async function runNaive(
  sc: Scenario,
  variant: NaiveVariant,
  o: BenchOptions,
  log: (m: string) => void,
  /** The rest of the shop's MySQL traffic during the buyers (./collateral.ts). */
  collateralSpec?: Omit<CollateralSpec, 'table'>,
): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const loadavgStart = loadNow();
  const db = `hf_bench_naive_${randomId()}`;
  const url = await freshDatabase(o.mysqlUrl, db);
  const pool = createMysqlPool(url, {
    connectionLimit: o.bConnections,
    maxIdle: o.bConnections,
    queueLimit: 0,
    applicationName: 'holdfast-bench-naive',
  });
  try {
    await prepare(pool, [...sc.stock, warmupStock(sc.buyers)]);
    // Open every connection before the clock starts.
    const warm = await Promise.all(
      Array.from({ length: o.bConnections }, () => pool.getConnection()),
    );
    for (const c of warm) c.release();
    const tx: Tx = variant === 'conditional' ? conditional : forUpdate;
    const w = warmupSize(sc.buyers);
    const warmAccepted = await warmUpBuyers(pool, tx, w, o.bConnections);

    const tally = new BuyerTally(sc, warmAccepted);
    const background = collateralSpec
      ? await spawnCollateral(url, { ...collateralSpec, table: 'stock' })
      : undefined;
    const monitor = new ProcessMonitor([...serverProcesses(), benchProcess()]);
    monitor.start();
    background?.start();
    let collateral: CollateralResult | undefined;
    try {
      await buyAll(pool, tx, o, tally);
    } finally {
      collateral = await background?.stop();
    }
    const processes = monitor.stop();
    const name = VARIANT_NAME[variant];
    log(`B ${name} ${sc.name}: ${tally.decided} decisions in ${Math.round(tally.wallMs)} ms`);

    const books = await checkBooks(pool, tally);
    return {
      ...naiveFigures(name, tally, books),
      ...(collateral ? { collateral } : {}),
      processes,
      machineCpu: monitor.machine,
      truncated: tally.truncated,
      loadavgStart,
      loadavgEnd: loadNow(),
      startedAt,
      notes: [
        `warm-up: ${w} transactions on ${WARMUP_SKU} before the window, excluded from the figures`,
        `${o.bConnections} pooled connections, ${o.bConnections} buyers in flight`,
        `${tally.retries} transactions retried after a deadlock / lock-wait timeout`,
      ],
    };
  } finally {
    await pool.end().catch(() => {});
    if (!o.keep) await dropDatabase(o.mysqlUrl, db).catch(() => {});
  }
}

/** Warm-up (untimed): the same transactions on a row of their own; returns the accepted count. */
async function warmUpBuyers(pool: Pool, tx: Tx, w: number, inFlight: number): Promise<number> {
  let accepted = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < w) {
        const i = next++;
        if ((await buy(pool, tx, WARMUP_ORDER_BASE + i, [[WARMUP_SKU, 1]])).ok) accepted++;
      }
    }),
  );
  return accepted;
}

/** The measured transactions: latency and result per buyer, units taken per SKU. */
class BuyerTally {
  /** Lines of each cart in SKU order: the lock order every transaction agrees on. */
  readonly carts: Line[][];
  /** getConnection → COMMIT/ROLLBACK returned, ms, per buyer. */
  readonly latency: Float64Array;
  /** Units sold per SKU by the accepted transactions (warm-up included). */
  readonly taken: Map<string, number>;
  accepted = 0;
  rejected = 0;
  unitsTaken = 0;
  retries = 0;
  decided = 0;
  truncated = false;
  /** First START TRANSACTION → last COMMIT/ROLLBACK returned, ms. */
  wallMs = 0;

  constructor(
    sc: Scenario,
    /** Warm-up transactions accepted. */
    readonly warmAccepted: number,
  ) {
    this.carts = sc.carts.map((c) =>
      [...c].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    );
    this.latency = new Float64Array(this.carts.length).fill(NaN);
    this.taken = new Map(warmAccepted ? [[WARMUP_SKU, warmAccepted]] : []);
  }
}

/** Every buyer, `bConnections` in flight; stops at --time-limit (truncated). */
async function buyAll(pool: Pool, tx: Tx, o: BenchOptions, tally: BuyerTally): Promise<void> {
  const n = tally.carts.length;
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + o.timeLimitS * 1000;
  let tEnd = t0;
  await Promise.all(
    Array.from({ length: o.bConnections }, async () => {
      while (next < n) {
        if (performance.now() > deadline) {
          tally.truncated = true;
          return;
        }
        const i = next++;
        const lines = tally.carts[i]!;
        const ts = performance.now();
        const { ok, retries } = await buy(pool, tx, i, lines);
        tally.retries += retries;
        const te = performance.now();
        tEnd = Math.max(tEnd, te);
        tally.latency[i] = te - ts;
        tally.decided++;
        if (ok) {
          tally.accepted++;
          tally.unitsTaken += addUnits(tally.taken, lines);
        } else tally.rejected++;
      }
    }),
  );
  tally.wallMs = tEnd - t0;
}

/** The books at the end: no oversell, conservation, order lines = sold = accepted units. */
async function checkBooks(
  pool: Pool,
  tally: BuyerTally,
): Promise<{ oversells: number; oversoldUnits: number; violations: string[] }> {
  const violations: string[] = [];
  let oversells = 0;
  let oversoldUnits = 0;
  const [rows] = await pool.query<RowDataPacket[]>('SELECT sku, total, available, sold FROM stock');
  const [orderRows] = await pool.query<RowDataPacket[]>(
    'SELECT sku, SUM(qty) AS units FROM order_lines GROUP BY sku',
  );
  const [[orders]] = (await pool.query(
    'SELECT COUNT(DISTINCT order_id) AS n FROM order_lines',
  )) as unknown as [[{ n: number }]];
  const ordered = new Map(orderRows.map((r) => [String(r.sku), Number(r.units)]));
  for (const r of rows) {
    const sku = String(r.sku);
    const [total, available, sold] = [Number(r.total), Number(r.available), Number(r.sold)];
    const over = Math.max(0, sold - total, -available);
    if (over > 0 || available < 0) {
      oversells++;
      oversoldUnits += over;
      violations.push(`${sku}: available ${available}, sold ${sold}, total ${total}`);
    }
    if (available + sold !== total)
      violations.push(`${sku}: available + sold ${available + sold} ≠ total ${total}`);
    if ((ordered.get(sku) ?? 0) !== sold)
      violations.push(`${sku}: order lines ${ordered.get(sku) ?? 0} ≠ sold ${sold}`);
    if ((tally.taken.get(sku) ?? 0) !== sold)
      violations.push(`${sku}: accepted units ${tally.taken.get(sku) ?? 0} ≠ sold ${sold}`);
  }
  if (Number(orders.n) !== tally.accepted + tally.warmAccepted) {
    violations.push(
      `${orders.n} orders stored, ${tally.accepted} + ${tally.warmAccepted} (warm-up) accepted`,
    );
  }
  return { oversells, oversoldUnits, violations };
}

type NaiveFigures = Omit<
  RunResult,
  'processes' | 'machineCpu' | 'truncated' | 'loadavgStart' | 'loadavgEnd' | 'startedAt' | 'notes'
>;

/** The run's figures (docs/benchmarks.md, "What each figure means"). */
function naiveFigures(
  variant: string,
  tally: BuyerTally,
  books: { oversells: number; oversoldUnits: number; violations: string[] },
): NaiveFigures {
  return {
    system: 'B',
    variant,
    buyers: tally.carts.length,
    decisions: tally.decided,
    accepted: tally.accepted,
    rejected: tally.rejected,
    byReason: tally.rejected ? { out_of_stock: tally.rejected } : {},
    unitsTaken: tally.unitsTaken,
    wallMs: Math.round(tally.wallMs),
    decisionsPerSec: perSecond(tally.decided, tally.wallMs),
    throughputDefinition:
      'transactions ÷ (last COMMIT/ROLLBACK − first START TRANSACTION), client clock',
    latencyMs: summarize(tally.latency),
    latencyDefinition:
      'per transaction: getConnection → COMMIT/ROLLBACK returned (retries after a deadlock included), client clock',
    oversells: books.oversells,
    oversoldUnits: books.oversoldUnits,
    violations: books.violations.slice(0, 50),
  };
}
