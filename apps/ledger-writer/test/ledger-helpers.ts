/**
 * Test helpers for the ledger writer: a fresh migrated database, entry builders that mimic the
 * reserver's Lua scripts, an in-memory model of the books and readers for the tables.
 */
import { isolatedEnv, type IsolatedEnv } from '@holdfast/testkit';
// Brings the vitest ProvidedContext typing (redisUrl, mysqlUrl) into this package's tsc run.
import type {} from '@holdfast/testkit/global-setup';
import {
  createMysqlPool,
  migrate,
  toSafeInteger,
  type Pool,
  type RowDataPacket,
} from '@holdfast/shared/mysql';
import type { LedgerEntry, LedgerKind, LedgerLine } from '../src/apply-batch.js';

export interface Db {
  env: IsolatedEnv;
  pool: Pool;
  close(): Promise<void>;
}

/** A fresh database with the schema, and a pool on it. */
export async function freshDb(connectionLimit = 8): Promise<Db> {
  const env = await isolatedEnv();
  await migrate(env.mysqlUrl);
  const pool = createMysqlPool(env.mysqlUrl, { connectionLimit });
  return {
    env,
    pool,
    async close() {
      await pool.end();
      await env.cleanup();
    },
  };
}

export interface StockRow {
  total: number;
  available: number;
  held: number;
  sold: number;
  perUser: number;
}

const zero = (): StockRow => ({ total: 0, available: 0, held: 0, sold: 0, perUser: 0 });

/** Builds ledger entries with increasing stream ids, like one shard's ledger stream. */
export class EntryFactory {
  private ms: number;
  private seq = 0;
  private n = 0;
  constructor(
    readonly prefix = '',
    startMs = 1_700_000_000_000,
  ) {
    this.ms = startMs;
  }
  private nextId(): string {
    if (Math.random() < 0.5) {
      this.ms += 1;
      this.seq = 0;
    } else this.seq += 1;
    return `${this.ms}-${this.seq}`;
  }
  make(kind: LedgerKind, lines: LedgerLine[], extra: Partial<LedgerEntry> = {}): LedgerEntry {
    const eventId = extra.eventId ?? `${this.prefix}e${++this.n}`;
    return {
      streamId: this.nextId(),
      changeId: `${kind}:${eventId}`,
      kind,
      eventId,
      checkoutId: '',
      atMs: this.ms,
      lines,
      ...extra,
    };
  }
  restock(sku: string, qty: number): LedgerEntry {
    return this.make('restock', [[sku, qty, qty, 0, 0]]);
  }
  reserve(checkoutId: string, lines: Array<[string, number]>): LedgerEntry {
    return this.make(
      'reserve',
      lines.map(([s, q]) => [s, 0, -q, q, 0]),
      { checkoutId },
    );
  }
  confirm(checkoutId: string, lines: Array<[string, number]>): LedgerEntry {
    return this.make(
      'confirm',
      lines.map(([s, q]) => [s, 0, 0, -q, q]),
      { checkoutId },
    );
  }
  cancel(checkoutId: string, lines: Array<[string, number]>): LedgerEntry {
    return this.make(
      'cancel',
      lines.map(([s, q]) => [s, 0, q, -q, 0]),
      { checkoutId },
    );
  }
  expire(checkoutId: string, lines: Array<[string, number]>, n = 1): LedgerEntry {
    const e = this.make(
      'expire',
      lines.map(([s, q]) => [s, 0, q, -q, 0]),
      { checkoutId },
    );
    e.changeId = `expire:${checkoutId}:${n}`;
    return e;
  }
  extend(checkoutId: string, skus: string[]): LedgerEntry {
    return this.make(
      'extend',
      skus.map((s) => [s, 0, 0, 0, 0]),
      { checkoutId },
    );
  }
  setLimit(sku: string, perUser: number): LedgerEntry {
    return this.make('set_limit', [[sku, 0, 0, 0, 0]], { perUser });
  }
}

/** The books as the ledger-writer should leave them: every change applied once, in order. */
export class Model {
  readonly stock = new Map<string, StockRow>();
  readonly applied = new Set<string>();
  rows = 0;
  /** Applies `e` unless it was applied already; throws if it would break an invariant. */
  apply(e: LedgerEntry): void {
    if (this.applied.has(e.changeId)) return;
    this.applied.add(e.changeId);
    for (const [sku, dT, dA, dH, dS] of e.lines) {
      const s = this.stock.get(sku) ?? zero();
      s.total += dT;
      s.available += dA;
      s.held += dH;
      s.sold += dS;
      if (e.kind === 'set_limit') s.perUser = e.perUser!;
      if (
        s.available < 0 ||
        s.held < 0 ||
        s.sold < 0 ||
        s.available + s.held + s.sold !== s.total
      ) {
        throw new Error(`model: ${e.changeId} breaks ${sku}`);
      }
      this.stock.set(sku, s);
      this.rows++;
    }
  }
}

export async function readStock(pool: Pool, skus?: string[]): Promise<Map<string, StockRow>> {
  const [rows] = skus
    ? await pool.query<RowDataPacket[]>(
        'SELECT sku, total, available, held, sold, per_user_limit FROM inventory_stock WHERE sku IN (?)',
        [skus.length ? skus : ['']],
      )
    : await pool.query<RowDataPacket[]>(
        'SELECT sku, total, available, held, sold, per_user_limit FROM inventory_stock',
      );
  return new Map(
    rows.map((r) => [
      String(r.sku),
      {
        total: toSafeInteger(r.total),
        available: toSafeInteger(r.available),
        held: toSafeInteger(r.held),
        sold: toSafeInteger(r.sold),
        perUser: toSafeInteger(r.per_user_limit),
      },
    ]),
  );
}

/** Per SKU, the sum of the ledger's deltas (what the stock row must equal). */
export async function ledgerSums(
  pool: Pool,
  shard?: string,
): Promise<Map<string, Omit<StockRow, 'perUser'>>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT sku, SUM(d_total) AS t, SUM(d_available) AS a, SUM(d_held) AS h, SUM(d_sold) AS s ' +
      `FROM inventory_ledger ${shard ? 'WHERE shard = ?' : ''} GROUP BY sku`,
    shard ? [shard] : [],
  );
  return new Map(
    rows.map((r) => [
      String(r.sku),
      {
        total: toSafeInteger(r.t),
        available: toSafeInteger(r.a),
        held: toSafeInteger(r.h),
        sold: toSafeInteger(r.s),
      },
    ]),
  );
}

export async function count(pool: Pool, sql: string, params: unknown[] = []): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(sql, params);
  return toSafeInteger(Object.values(rows[0] ?? { n: 0 })[0]);
}

/** Drops zero-only rows (SKUs touched only by zero-delta changes) for comparisons. */
export function withoutEmpty<
  T extends { total: number; available: number; held: number; sold: number },
>(m: Map<string, T>): Map<string, T> {
  return new Map(
    [...m].filter(
      ([, v]) => v.total || v.available || v.held || v.sold || (v as { perUser?: number }).perUser,
    ),
  );
}
