/**
 * Collateral damage: the rest of the shop's MySQL traffic, going on while a promo runs. At a
 * fixed rate, whatever the system under test does: product-page reads of the hot SKU's row
 * (`SELECT … FROM <stock table> WHERE sku = ?` — A's books are the ledger-writer's
 * inventory_stock, B's its own `stock`) and inserts of unrelated orders into `other_orders`.
 * Its latency is what the promo does to everybody else sharing the database.
 *
 * Open loop: operations are issued on their schedule (i ÷ rate), never waiting for the previous
 * one, over a pool large enough not to queue unless MySQL itself is slow; an operation's latency
 * is from its issue (pool wait included) to its reply. It goes through the same --rtt-ms proxy
 * as the system, so r is in every figure.
 */
import { createMysqlPool, type Pool } from '@holdfast/shared/mysql';
import { startScript } from './script-process.js';
import { summarize, type LatencySummary } from './stats.js';

export interface CollateralSpec {
  /** The hot SKU's row is read from this table (inventory_stock for A, stock for B). */
  table: StockTable;
  sku: string;
  readsPerSec: number;
  insertsPerSec: number;
}

/** The books tables the collateral reads from: A's (the ledger-writer's) and B's. */
export type StockTable = 'inventory_stock' | 'stock';

/** One constant statement per table (no SQL built from values, chaos 11 scans for that). */
const HOT_ROW_READ: Record<StockTable, string> = {
  inventory_stock: 'SELECT sku, available FROM inventory_stock WHERE sku = ?',
  stock: 'SELECT sku, available FROM stock WHERE sku = ?',
};

export interface CollateralResult {
  table: string;
  sku: string;
  readsPerSec: number;
  insertsPerSec: number;
  /** Operations issued during the run (the system's measured window). */
  windowMs: number;
  reads: LatencySummary;
  inserts: LatencySummary;
  /** Reads and inserts together. */
  all: LatencySummary;
  errors: number;
  definition: string;
}

const OTHER_ORDERS = `CREATE TABLE IF NOT EXISTS other_orders (
  id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer    VARCHAR(64) NOT NULL,
  amount_cents INT NOT NULL,
  created_at  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB`;

/** Enough for 250 ops/s at 1 ms RTT with MySQL slowed tenfold, so the pool rarely queues. */
const POOL_SIZE = 16;

export interface Collateral {
  /** Starts the schedule (call when the system's window opens). */
  start(): void;
  /** Stops issuing, waits for the operations in flight, closes the pool. */
  stop(): Promise<CollateralResult>;
}

/**
 * The collateral traffic in a process of its own (./collateral-process.ts), prepared: call
 * `start()` when the system's window opens.
 */
export async function spawnCollateral(mysqlUrl: string, spec: CollateralSpec): Promise<Collateral> {
  const proc = startScript(new URL('./collateral-process.ts', import.meta.url), {
    mysqlUrl,
    spec,
  });
  const ready = await proc.nextLine(60_000).catch(async (err: unknown) => {
    await proc.end(0);
    throw err;
  });
  if (ready === undefined) throw new Error('the collateral process exited before it was ready');
  let stopping: Promise<CollateralResult> | undefined;
  return {
    start: () => proc.send('start'),
    stop: () =>
      (stopping ??= (async () => {
        const ended = proc.end(30_000);
        const line = await proc.nextLine(30_000);
        await ended;
        if (!line) throw new Error('the collateral process exited without its result');
        return (JSON.parse(line) as { result: CollateralResult }).result;
      })()),
  };
}

/** Creates other_orders and opens the pool (before the window); `start()` begins the traffic. */
export async function prepareCollateral(
  mysqlUrl: string,
  spec: CollateralSpec,
): Promise<Collateral> {
  const pool = createMysqlPool(mysqlUrl, {
    connectionLimit: POOL_SIZE,
    maxIdle: POOL_SIZE,
    queueLimit: 0,
    applicationName: 'holdfast-bench-collateral',
  });
  try {
    await pool.query(OTHER_ORDERS);
    const conns = await Promise.all(Array.from({ length: POOL_SIZE }, () => pool.getConnection()));
    for (const c of conns) c.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  return new CollateralTraffic(pool, spec);
}

class CollateralTraffic implements Collateral {
  private readonly reads: number[] = [];
  private readonly inserts: number[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private errors = 0;
  private t0 = 0;
  private tEnd = 0;
  private issuedReads = 0;
  private issuedInserts = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly pool: Pool,
    private readonly spec: CollateralSpec,
  ) {}

  start(): void {
    if (this.running || (!this.spec.readsPerSec && !this.spec.insertsPerSec)) return;
    this.running = true;
    this.t0 = performance.now();
    this.tick();
  }

  /** Issues every operation whose time has come, then sleeps until the next one. */
  private tick(): void {
    this.timer = undefined;
    if (!this.running) return;
    const elapsed = performance.now() - this.t0;
    const { readsPerSec, insertsPerSec } = this.spec;
    while (readsPerSec && (this.issuedReads * 1000) / readsPerSec <= elapsed) {
      this.issuedReads++;
      this.issue(this.reads, () =>
        this.pool.execute(HOT_ROW_READ[this.spec.table], [this.spec.sku]),
      );
    }
    while (insertsPerSec && (this.issuedInserts * 1000) / insertsPerSec <= elapsed) {
      const n = this.issuedInserts++;
      this.issue(this.inserts, () =>
        this.pool.execute('INSERT INTO other_orders (customer, amount_cents) VALUES (?, ?)', [
          `shopper-${n % 997}`,
          1000 + (n % 50) * 100,
        ]),
      );
    }
    const nextRead = readsPerSec ? (this.issuedReads * 1000) / readsPerSec : Infinity;
    const nextInsert = insertsPerSec ? (this.issuedInserts * 1000) / insertsPerSec : Infinity;
    const wait = Math.min(nextRead, nextInsert) - (performance.now() - this.t0);
    this.timer = setTimeout(() => this.tick(), Math.max(1, Math.ceil(wait)));
  }

  private issue(into: number[], op: () => Promise<unknown>): void {
    const ts = performance.now();
    const p = op().then(
      () => void into.push(performance.now() - ts),
      () => void this.errors++,
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  async stop(): Promise<CollateralResult> {
    if (this.running) this.tEnd = performance.now();
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.inFlight]);
    await this.pool.end().catch(() => {});
    const { table, sku, readsPerSec, insertsPerSec } = this.spec;
    return {
      table,
      sku,
      readsPerSec,
      insertsPerSec,
      windowMs: Math.round(this.tEnd - this.t0),
      reads: summarize(this.reads),
      inserts: summarize(this.inserts),
      all: summarize([...this.reads, ...this.inserts]),
      errors: this.errors,
      definition:
        'per operation: issued (on its fixed-rate schedule, pool wait included) → reply, client clock, through the same --rtt-ms proxy',
    };
  }
}
