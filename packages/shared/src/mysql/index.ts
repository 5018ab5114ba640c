/**
 * MySQL / MariaDB: pool, migrations, error classification. See docs/mysql.md.
 *
 * `redactUrl` of ./pool.ts is exported here as `redactMysqlUrl` only, so that this barrel and
 * ../logger.ts (which has its own `redactUrl`) can both be re-exported from the package index.
 */
export {
  createMysqlPool,
  parseMysqlUrl,
  databaseFromUrl,
  baseConnectionOptions,
  redactMysqlUrl,
  toSafeInteger,
  SESSION_SQL_MODE,
  SESSION_INIT_SQL,
  type MysqlPoolOptions,
  type Pool,
  type PoolConnection,
  type PoolOptions,
  type RowDataPacket,
  type ResultSetHeader,
} from './pool.js';
export * from './migrate.js';
export * from './databases.js';
export * from './errors.js';
