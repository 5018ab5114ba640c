/**
 * The demo's MySQL database: holdfast_demo dropped and recreated, or one the user named that
 * must be empty. Database and table names go in as `??` identifiers (mysql2 quotes them,
 * doubling any backtick), never spliced into the SQL text.
 */
import { redactUrl } from '@holdfast/shared';
import { createMysqlPool, migrate, type Pool, type RowDataPacket } from '@holdfast/shared/mysql';
import { CliError, EXIT, errorMessage } from '@holdfast/shared/tools';
import { DEMO_DATABASE, type DemoTarget } from './target.js';

/** Drops and recreates holdfast_demo, or checks that a database the user named is empty; then migrates. */
export async function prepareDatabase(t: DemoTarget): Promise<void> {
  // Connected to the server, no database selected.
  const c = createMysqlPool(t.mysqlUrl, {
    database: null,
    connectionLimit: 1,
    connectTimeoutMs: 5_000,
  });
  try {
    await c.query('SELECT 1').catch((err: unknown) => {
      throw new CliError(
        `cannot connect to MySQL at ${redactUrl(t.mysqlUrl)}: ${errorMessage(err)}`,
      );
    });
    if (t.recreateDatabase) await c.query('DROP DATABASE IF EXISTS ??', [t.database]);
    else await refuseBooks(c, t);
  } finally {
    await c.end().catch(() => {});
  }
  await migrate(t.mysqlUrl);
}

/** Throws a usage error when the named database already has stock or ledger rows. */
async function refuseBooks(c: Pool, t: DemoTarget): Promise<void> {
  const [rows] = await c.query<RowDataPacket[]>(
    `SELECT table_name AS t, table_rows AS n FROM information_schema.tables
      WHERE table_schema = ? AND table_name IN ('inventory_stock', 'inventory_ledger')`,
    [t.database],
  );
  for (const r of rows) {
    const [[cnt]] = (await c.query('SELECT COUNT(*) AS n FROM ??.??', [
      t.database,
      String(r.t),
    ])) as unknown as [[{ n: number }]];
    if (Number(cnt.n) > 0) {
      throw new CliError(
        `MySQL database "${t.database}" already has books (${String(r.t)} has ${cnt.n} rows); the demo ` +
          `needs an empty database: unset MYSQL_URL (the demo then recreates ${DEMO_DATABASE}) or name ` +
          `another database`,
        EXIT.usage,
      );
    }
  }
}
