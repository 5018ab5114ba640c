/** MySQL's books (inventory_stock, inventory_ledger) read directly, and compared with Redis. */
import type { StockRow } from './stock.js';

export async function readMysqlStock(mysqlUrl: string): Promise<StockRow[]> {
  const { createConnection } = await import('mysql2/promise');
  const c = await createConnection(mysqlUrl);
  try {
    const [rows] = await c.query(
      'SELECT sku, total, available, held, sold FROM inventory_stock ORDER BY sku',
    );
    return (rows as Array<Record<string, unknown>>).map((r) => ({
      sku: String(r.sku),
      total: Number(r.total),
      available: Number(r.available),
      held: Number(r.held),
      sold: Number(r.sold),
    }));
  } finally {
    await c.end();
  }
}

/** SKUs whose MySQL row differs from Redis (empty = the books agree). */
export function booksMismatch(redisRows: StockRow[], mysqlRows: StockRow[]): string[] {
  const m = new Map(mysqlRows.map((r) => [r.sku, r]));
  const out: string[] = [];
  for (const r of redisRows) {
    const b = m.get(r.sku);
    if (
      !b ||
      b.total !== r.total ||
      b.available !== r.available ||
      b.held !== r.held ||
      b.sold !== r.sold
    ) {
      out.push(`${r.sku}: redis ${JSON.stringify(r)} mysql ${JSON.stringify(b ?? null)}`);
    }
    m.delete(r.sku);
  }
  for (const b of m.values()) out.push(`${b.sku}: only in mysql ${JSON.stringify(b)}`);
  return out;
}

/** Ledger rows in MySQL: total, distinct changes, and any (change, sku) written twice. */
export async function mysqlLedgerCounts(mysqlUrl: string) {
  const { createConnection } = await import('mysql2/promise');
  const c = await createConnection(mysqlUrl);
  try {
    const [[row]] = (await c.query(
      'SELECT COUNT(*) n, COUNT(DISTINCT change_id) changes FROM inventory_ledger',
    )) as unknown as [[{ n: number; changes: number }]];
    const [byKind] = await c.query(
      'SELECT kind, COUNT(DISTINCT change_id) n FROM inventory_ledger GROUP BY kind',
    );
    return {
      rows: Number(row.n),
      changes: Number(row.changes),
      byKind: Object.fromEntries(
        (byKind as Array<{ kind: string; n: number }>).map((k) => [k.kind, Number(k.n)]),
      ),
    };
  } finally {
    await c.end();
  }
}
