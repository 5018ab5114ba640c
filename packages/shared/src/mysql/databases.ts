/**
 * Databases a run makes for itself next to the server's URL and drops afterwards: the
 * benchmark's and the tests'. Names are quoted exactly (quoteIdent), whatever they contain.
 */
import { quoteIdent } from './migrate.js';
import { createMysqlPool, type Pool } from './pool.js';

/** `url` with its database replaced by `database` (same server, user, options). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A one-connection pool on the server of `serverUrl`, outside any database, for `fn`. */
async function onServer(serverUrl: string, fn: (pool: Pool) => Promise<unknown>): Promise<void> {
  const pool = createMysqlPool(serverUrl, { database: null, connectionLimit: 1 });
  try {
    await fn(pool);
  } finally {
    await pool.end();
  }
}

/**
 * Creates `database` with the books' character set (as `migrate` would); returns its URL.
 * Fails if it exists.
 */
export async function createDatabase(serverUrl: string, database: string): Promise<string> {
  await onServer(serverUrl, (pool) =>
    pool.query(`CREATE DATABASE ${quoteIdent(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`),
  );
  return withDatabase(serverUrl, database);
}

export async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  await onServer(serverUrl, (pool) =>
    pool.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`),
  );
}
