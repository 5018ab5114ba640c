/**
 * MySQL / MariaDB connection pool (mysql2/promise) with the settings every holdfast service
 * shares. See docs/mysql.md.
 *
 * Conventions enforced here, which the SQL of the services relies on:
 * - one statement per query (`multipleStatements: false`): an injected `;` can never start a
 *   second statement, and migrations are split into single statements (./migrate.ts);
 * - BIGINT columns come back as JS numbers while they are safe integers, as strings beyond
 *   2^53 (`supportBigNumbers: true`, `bigNumberStrings: false`); use `toSafeInteger()`;
 * - TIMESTAMP/DATETIME come back as strings (`dateStrings: true`), the session runs in UTC;
 * - every session uses a strict, explicit sql_mode, so a too-long SKU is an error instead of a
 *   silently truncated key, and client-side escaping (backslashes) is always valid.
 */
import { createPool, type Pool, type PoolOptions, type ConnectionOptions } from 'mysql2/promise';

export type {
  Pool,
  PoolConnection,
  PoolOptions,
  RowDataPacket,
  ResultSetHeader,
} from 'mysql2/promise';

/**
 * Session sql_mode: MySQL 8's default minus ONLY_FULL_GROUP_BY, identical on MariaDB 10.11.
 * STRICT_TRANS_TABLES turns truncation/out-of-range into errors; NO_BACKSLASH_ESCAPES is
 * deliberately absent (mysql2 escapes values with backslashes).
 */
export const SESSION_SQL_MODE =
  'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

/** Configures a session: strict sql_mode and UTC. Pooled sessions run it on connect. */
export const SESSION_INIT_SQL = `SET SESSION sql_mode = '${SESSION_SQL_MODE}', time_zone = '+00:00'`;

export interface MysqlPoolOptions {
  /** Max open connections of this process (default 10). */
  connectionLimit?: number;
  /** Max requests waiting for a free connection before getConnection() fails (default 1000, 0 = unbounded). */
  queueLimit?: number;
  /** TCP connect + handshake timeout in ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Idle connections above `maxIdle` are closed after this many ms (default 60 000). */
  idleTimeoutMs?: number;
  /** Idle connections kept open (default min(connectionLimit, 4)). */
  maxIdle?: number;
  /** Overrides the database named in the URL (`null`: connect without selecting one). */
  database?: string | null;
  /**
   * Prepared statements (`execute()`) kept open per connection, least recently used closed
   * first (default: mysql2's 16 000 — every distinct statement text stays prepared on the
   * server, whose max_prepared_stmt_count is 16 382 for all clients together).
   */
  maxPreparedStatements?: number;
  /** Application name reported in `performance_schema.session_connect_attrs` (MySQL only). */
  applicationName?: string;
}

/**
 * Parses `mysql://user:password@host:port/database` into mysql2 connection options.
 * User and password are percent-decoded; the port defaults to 3306; `?ssl=true` (or
 * `?ssl-mode=REQUIRED`) turns on TLS with certificate verification.
 */
export function parseMysqlUrl(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid MySQL URL: ${redactUrl(url)}`);
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new Error(`invalid MySQL URL (expected mysql://): ${redactUrl(url)}`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const opts: ConnectionOptions = {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
  };
  if (database) opts.database = database;
  const ssl = u.searchParams.get('ssl') ?? u.searchParams.get('ssl-mode');
  if (ssl && !/^(false|0|disabled)$/i.test(ssl)) opts.ssl = { rejectUnauthorized: true };
  return opts;
}

/** The database named in a MySQL URL ('' when none). */
export function databaseFromUrl(url: string): string {
  return String(parseMysqlUrl(url).database ?? '');
}

/** Options shared by pools and the single connections (migrations) that holdfast opens. */
export function baseConnectionOptions(url: string, connectTimeoutMs = 10_000): ConnectionOptions {
  return {
    ...parseMysqlUrl(url),
    // One statement per query: an injected ';' can never start a second statement.
    multipleStatements: false,
    // BIGINT/DECIMAL as JS numbers while they are safe integers, strings beyond 2^53.
    supportBigNumbers: true,
    bigNumberStrings: false,
    // TIMESTAMP/DATETIME as 'YYYY-MM-DD hh:mm:ss.fff' strings: no Date/timezone surprises.
    dateStrings: true,
    // Values bound from JS Dates (if any) are interpreted as UTC; the session runs in UTC too.
    timezone: 'Z',
    // utf8mb4 on the wire: SKUs and ids may be any printable Unicode.
    charset: 'utf8mb4',
    // Fail fast when the server is unreachable instead of hanging a worker.
    connectTimeout: connectTimeoutMs,
    // TCP keep-alive so NAT/firewalls don't silently drop idle pooled connections.
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
  };
}

/** Creates the pool every service uses. The URL's password never reaches a log line. */
export function createMysqlPool(url: string, opts: MysqlPoolOptions = {}): Pool {
  const connectionLimit = opts.connectionLimit ?? 10;
  const options: PoolOptions = {
    ...baseConnectionOptions(url, opts.connectTimeoutMs),
    // Upper bound on concurrent connections of this process; a ledger-writer needs one per
    // in-flight batch, the reconciler one or two.
    connectionLimit,
    // Wait for a free connection instead of failing at once when all are busy...
    waitForConnections: true,
    // ...but not forever: a bounded queue turns overload into an error, not unbounded memory.
    queueLimit: opts.queueLimit ?? 1000,
    // Keep a few warm connections, close the rest after a minute of idleness.
    maxIdle: opts.maxIdle ?? Math.min(connectionLimit, 4),
    idleTimeout: opts.idleTimeoutMs ?? 60_000,
  };
  if (opts.database !== undefined) {
    if (opts.database === null) delete options.database;
    else options.database = opts.database;
  }
  if (opts.maxPreparedStatements !== undefined)
    options.maxPreparedStatements = opts.maxPreparedStatements;
  if (opts.applicationName) options.connectAttributes = { program_name: opts.applicationName };
  const pool = createPool(options);
  // Runs before the new connection is handed out (mysql2 emits 'connection' first and the
  // connection executes commands in order), so every pooled session is strict and in UTC.
  // (The core pool's event carries the callback-style connection.)
  pool.pool.on('connection', (conn) => {
    conn.query(SESSION_INIT_SQL, (err: unknown) => {
      // Should never happen. A session we could not configure is destroyed: its first query
      // fails as a connection error, which callers retry on a fresh connection.
      if (err) conn.destroy();
    });
  });
  return pool;
}

/**
 * Removes secrets from a MySQL (or any) URL for logs: the password (user info kept) and any
 * `password=` query parameter. Never throws; for a string that isn't a valid URL,
 * whatever sits between `//user:` and `@` is masked.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) {
      if (/pass|secret|token/i.test(k)) u.searchParams.set(k, '***');
    }
    return u.toString();
  } catch {
    // Best effort for strings that aren't valid URLs: mask anything between 'user:' and '@'.
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}

/** Same as redactUrl(), under a name that does not collide with logger.ts's redactUrl. */
export const redactMysqlUrl = redactUrl;

/**
 * Converts a BIGINT value as mysql2 returns it (number, or string beyond 2^53) into a safe
 * integer, throwing instead of silently losing precision.
 */
export function toSafeInteger(v: unknown, what = 'value'): number {
  const n =
    typeof v === 'number' ? v : typeof v === 'string' || typeof v === 'bigint' ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${what} is not a safe integer: ${String(v)}`);
  return n;
}
