/**
 * The ledger-writer's SQL: every statement of the apply path, and nothing that decides anything
 * (plan-batch.ts decides; apply-batch.ts puts the two together). Each function runs on the
 * connection of one open transaction; inTransaction() opens, commits or rolls it back.
 *
 * Every statement that names rows takes them in lock order (sorted SKUs, chunk after chunk), so
 * concurrent writers never wait for each other in a cycle: docs/mysql.md, "Lock order and
 * deadlocks".
 */
import {
  RetryableMysqlError,
  isConnectionBroken,
  toSafeInteger,
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from '@holdfast/shared/mysql';
import type { IncidentRow, LedgerRow, StockRow, StockUpdate } from './plan-batch.js';

/** Rows / ids per statement: far below max_allowed_packet (16 MiB MariaDB, 64 MiB MySQL 8). */
const CHUNK = 500;

/**
 * The sizes a prepared statement of the hot path may have. Every distinct statement text is a
 * server-side prepared statement (per connection, kept in mysql2's cache), so the number of
 * ids per statement is bounded to these instead of being any of 1..CHUNK: a chunk is padded
 * up to the next shape (powers of two: at most 2× padding, one statement per chunk as before).
 */
const SHAPES = [CHUNK, 256, 128, 64, 32, 16, 8, 4, 2, 1] as const;

/** The smallest shape that holds n (≤ CHUNK) ids. */
function shapeFor(n: number): number {
  let s: number = CHUNK;
  for (const x of SHAPES) if (x >= n) s = x;
  return s;
}

function chunks<T>(xs: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * Chunks of at most CHUNK, each padded to its shape by repeating its last element: for
 * statements where a repeated id changes nothing (`IN (…)` lists, an upsert that is a no-op on
 * a duplicate key). Sorted input stays sorted, so the lock order is kept.
 */
function paddedChunks<T>(xs: readonly T[]): T[][] {
  const out = chunks(xs);
  for (const part of out) {
    const last = part[part.length - 1]!;
    for (let n = shapeFor(part.length); part.length < n;) part.push(last);
  }
  return out;
}

/** Statement texts by shape, built once: the long ones are tens of kB. */
const statements = new Map<string, string>();
function statement(key: string, build: () => string): string {
  let sql = statements.get(key);
  if (sql === undefined) statements.set(key, (sql = build()));
  return sql;
}

/**
 * Runs `work` in one transaction on a pooled connection: COMMIT when it returns, ROLLBACK when
 * it throws (the error propagates). A connection that broke is destroyed, never pooled again.
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (conn: PoolConnection) => Promise<T>,
): Promise<T> {
  const conn = await pool.getConnection();
  let broken = false;
  try {
    await conn.beginTransaction();
    const out = await work(conn);
    await conn.commit();
    return out;
  } catch (err) {
    broken = isConnectionBroken(err);
    if (!broken) await conn.rollback().catch(() => (broken = true));
    throw err;
  } finally {
    if (broken) conn.destroy();
    else conn.release();
  }
}

/**
 * Creates the missing stock rows of `skus` (lock order) and locks them all, in that order;
 * returns their counters.
 */
export async function lockStockRows(
  conn: PoolConnection,
  skus: string[],
): Promise<Map<string, StockRow>> {
  // Not INSERT IGNORE: that would also swallow errors that are not duplicates. A padded
  // (repeated) SKU hits its own row again: sku = sku, nothing changes.
  const parts = paddedChunks(skus);
  for (const part of parts) {
    await conn.execute(
      statement(
        `upsert-stock/${part.length}`,
        () =>
          'INSERT INTO inventory_stock (sku) VALUES ' +
          part.map(() => '(?)').join(',') +
          ' ON DUPLICATE KEY UPDATE sku = sku',
      ),
      part,
    );
  }
  const stock = new Map<string, StockRow>();
  for (const part of parts) {
    const [rows] = await conn.execute<RowDataPacket[]>(
      statement(
        `lock-stock/${part.length}`,
        () =>
          // FORCE INDEX: point lookups on the primary key. On a small table the optimizer may
          // prefer a full index scan, which under REPEATABLE READ locks every row it reads —
          // other writers' rows too, out of order: deadlocks.
          'SELECT sku, total, available, held, sold, per_user_limit FROM inventory_stock FORCE INDEX (PRIMARY) ' +
          'WHERE sku IN (' +
          part.map(() => '?').join(',') +
          ') ORDER BY sku FOR UPDATE',
      ),
      part,
    );
    for (const r of rows) {
      stock.set(String(r.sku), {
        total: toSafeInteger(r.total, 'total'),
        available: toSafeInteger(r.available, 'available'),
        held: toSafeInteger(r.held, 'held'),
        sold: toSafeInteger(r.sold, 'sold'),
        perUser: toSafeInteger(r.per_user_limit, 'per_user_limit'),
      });
    }
  }
  for (const sku of skus) {
    if (!stock.has(sku))
      throw new Error(`stock row for ${JSON.stringify(sku)} missing after insert`);
  }
  return stock;
}

/**
 * The `changeIds` an earlier delivery applied. Run after lockStockRows(): a competing writer of
 * the same changes (same SKUs) has committed or rolled back by then, so this sees the truth.
 */
export async function readAppliedChanges(
  conn: PoolConnection,
  changeIds: string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of paddedChunks(changeIds)) {
    const [rows] = await conn.execute<RowDataPacket[]>(
      statement(
        `applied/${part.length}`,
        () =>
          'SELECT DISTINCT change_id FROM inventory_ledger WHERE change_id IN (' +
          part.map(() => '?').join(',') +
          ')',
      ),
      part,
    );
    for (const r of rows) found.add(String(r.change_id));
  }
  return found;
}

/** The `changeIds` an earlier delivery refused (they have ledger_incidents rows). */
export async function readRefusedChanges(
  conn: PoolConnection,
  changeIds: string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of paddedChunks(changeIds)) {
    const [rows] = await conn.execute<RowDataPacket[]>(
      statement(
        `refused/${part.length}`,
        () =>
          'SELECT DISTINCT change_id FROM ledger_incidents WHERE change_id IN (' +
          part.map(() => '?').join(',') +
          ')',
      ),
      part,
    );
    for (const r of rows) found.add(String(r.change_id));
  }
  return found;
}

/** One row per (change, SKU); a repeated incident bumps its occurrences instead. */
export async function recordIncidents(conn: PoolConnection, rows: IncidentRow[]): Promise<void> {
  for (const part of chunks(rows)) {
    await conn.query(
      'INSERT INTO ledger_incidents (change_id, sku, reason, detail, stream_id, shard) VALUES ? ' +
        'ON DUPLICATE KEY UPDATE occurrences = occurrences + 1, last_seen_at = CURRENT_TIMESTAMP(3)',
      [part],
    );
  }
}

/** Refused earlier, applied now (it had arrived before a change it depends on). */
export async function resolveIncidents(conn: PoolConnection, changeIds: string[]): Promise<void> {
  for (const part of chunks(changeIds)) {
    await conn.query(
      'UPDATE ledger_incidents SET resolved_at = CURRENT_TIMESTAMP(3) WHERE change_id IN (?) AND resolved_at IS NULL',
      [part],
    );
  }
}

/**
 * A plain INSERT, never IGNORE: ER_DUP_ENTRY means another writer committed one of these changes
 * after our check; it becomes a RetryableMysqlError('duplicate_race') — roll back, and the
 * re-run skips the change. Returns the rows inserted.
 *
 * Not a prepared statement, unlike the rest of the hot path: rows can't be padded (a repeated
 * row is a duplicate key), so every row count would be its own statement, and mysql2's
 * execute() builds an object per parameter — 14 per row, more garbage than escaping them
 * (measured: docs/benchmarks.md, "Ledger batches allocate less").
 */
export async function insertLedgerRows(conn: PoolConnection, rows: LedgerRow[]): Promise<number> {
  let written = 0;
  for (const part of chunks(rows)) {
    try {
      const [res] = await conn.query<ResultSetHeader>(
        'INSERT INTO inventory_ledger (change_id, sku, kind, event_id, checkout_id, d_total, ' +
          'd_available, d_held, d_sold, per_user, shard, stream_ms, stream_seq, at_ms) VALUES ?',
        [part],
      );
      written += res.affectedRows;
    } catch (err) {
      if ((err as { errno?: number }).errno === 1062) {
        throw new RetryableMysqlError(
          'duplicate_race',
          `a change of this batch was committed concurrently by another writer: ${(err as Error).message}`,
          { cause: err },
        );
      }
      throw err;
    }
  }
  return written;
}

/**
 * Adds each SKU's deltas (and sets its per_user_limit) on rows this transaction has locked, in
 * lock order. One statement per chunk of SKUs with a CASE per column is equivalent to one UPDATE
 * per SKU and saves a round trip per SKU (~5x faster for batches touching hundreds of SKUs).
 */
export async function updateStockRows(conn: PoolConnection, updates: StockUpdate[]): Promise<void> {
  for (const chunk of chunks(updates)) {
    const matched = chunk.length;
    // Padded by repeating the last SKU: a repeated WHEN never matches (the first one does)
    // and a repeated IN id names the same row.
    const part = paddedChunks(chunk)[0]!;
    const cols = ['total', 'available', 'held', 'sold'];
    // Only the columns that move get a CASE (the statement's shape is which ones, and the size).
    const moves = cols.map((_, i) => chunk.some((u) => u.d[i] !== 0));
    const limits = chunk.some((u) => u.limit !== null);
    const params: Array<string | number | null> = [];
    moves.forEach((moved, i) => {
      if (moved) for (const u of part) params.push(u.sku, u.d[i]!);
    });
    // Every SKU of the chunk gets a WHEN: an unchanged limit is the row's own (COALESCE).
    if (limits) for (const u of part) params.push(u.sku, u.limit);
    for (const u of part) params.push(u.sku);
    const shape = `stock/${part.length}/${moves.join()}/${limits}`;
    const [res] = await conn.execute<ResultSetHeader>(
      statement(shape, () => {
        const sets: string[] = [];
        cols.forEach((col, i) => {
          if (!moves[i]) return;
          sets.push(
            `${col} = ${col} + CASE sku ${part.map(() => 'WHEN ? THEN ?').join(' ')} ELSE 0 END`,
          );
        });
        if (limits) {
          sets.push(
            `per_user_limit = COALESCE(CASE sku ${part.map(() => 'WHEN ? THEN ?').join(' ')} END, per_user_limit)`,
          );
        }
        // FORCE INDEX as in lockStockRows: only our (already locked) rows, never a scan over others'.
        return `UPDATE inventory_stock FORCE INDEX (PRIMARY) SET ${sets.join(', ')} WHERE sku IN (${part.map(() => '?').join(',')})`;
      }),
      params,
    );
    // mysql2 connects with CLIENT_FOUND_ROWS: affectedRows counts matched rows.
    if (res.affectedRows !== matched) {
      throw new Error(`stock update matched ${res.affectedRows} of ${matched} rows`);
    }
  }
}
