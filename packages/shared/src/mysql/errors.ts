/**
 * Classification of MySQL / MariaDB errors for retry decisions.
 *
 * Retrying is only safe because every write holdfast makes is idempotent (the ledger's primary
 * key, see docs/mysql.md): re-running a transaction whose COMMIT outcome is unknown either
 * finds its rows (and skips them) or applies them once.
 */

export type RetryLabel = 'deadlock' | 'lock_timeout' | 'duplicate_race' | 'connection';

/** Thrown for a transient failure the caller should answer by re-running the same work. */
export class RetryableMysqlError extends Error {
  override name = 'RetryableMysqlError';
  constructor(
    readonly label: RetryLabel,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** errno → label, for server errors (numbers are stable across MySQL and MariaDB). */
const BY_ERRNO: Record<number, RetryLabel> = {
  1213: 'deadlock', // ER_LOCK_DEADLOCK
  1205: 'lock_timeout', // ER_LOCK_WAIT_TIMEOUT
  1062: 'duplicate_race', // ER_DUP_ENTRY (another writer committed the same key meanwhile)
  1040: 'connection', // ER_CON_COUNT_ERROR (too many connections)
  1053: 'connection', // ER_SERVER_SHUTDOWN
  1927: 'connection', // ER_CONNECTION_KILLED (MariaDB)
  2002: 'connection', // CR_CONNECTION_ERROR
  2003: 'connection', // CR_CONN_HOST_ERROR
  2006: 'connection', // CR_SERVER_GONE_ERROR
  2013: 'connection', // CR_SERVER_LOST
  4031: 'connection', // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8: idle session closed)
};

/** Error codes (mysql2 / Node) → label. */
const BY_CODE: Record<string, RetryLabel> = {
  ER_LOCK_DEADLOCK: 'deadlock',
  ER_LOCK_WAIT_TIMEOUT: 'lock_timeout',
  ER_DUP_ENTRY: 'duplicate_race',
  ER_CON_COUNT_ERROR: 'connection',
  ER_SERVER_SHUTDOWN: 'connection',
  ER_CONNECTION_KILLED: 'connection',
  ER_CLIENT_INTERACTION_TIMEOUT: 'connection',
  PROTOCOL_CONNECTION_LOST: 'connection',
  PROTOCOL_SEQUENCE_TIMEOUT: 'connection',
  PROTOCOL_PACKETS_OUT_OF_ORDER: 'connection',
  ECONNREFUSED: 'connection',
  ECONNRESET: 'connection',
  ECONNABORTED: 'connection',
  ETIMEDOUT: 'connection',
  EPIPE: 'connection',
  EHOSTUNREACH: 'connection',
  ENETUNREACH: 'connection',
  EAI_AGAIN: 'connection',
  ENOTFOUND: 'connection',
};

interface MaybeMysqlError {
  errno?: unknown;
  code?: unknown;
  fatal?: unknown;
  message?: unknown;
  cause?: unknown;
}

/**
 * Whether `err` is transient (re-running the same idempotent work may succeed), and why:
 * `'deadlock'` (1213), `'lock_timeout'` (1205), `'duplicate_race'` (1062), `'connection'`
 * (refused / lost / reset / timed out / server shutting down / too many connections / a fatal
 * protocol error). Returns `false` for anything else (syntax, constraint, data errors: retrying
 * would fail the same way). Follows `cause` chains and AggregateErrors.
 */
export function isRetryableMysqlError(err: unknown): RetryLabel | false {
  return classify(err, 0);
}

function classify(err: unknown, depth: number): RetryLabel | false {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  if (err instanceof RetryableMysqlError) return err.label;
  const e = err as MaybeMysqlError;
  if (typeof e.code === 'string' && BY_CODE[e.code]) return BY_CODE[e.code]!;
  if (typeof e.errno === 'number' && BY_ERRNO[e.errno]) return BY_ERRNO[e.errno]!;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const l = classify(inner, depth + 1);
      if (l) return l;
    }
  }
  if (e.cause) {
    const l = classify(e.cause, depth + 1);
    if (l) return l;
  }
  // Any other server error (access denied, unknown database, syntax, constraint…) is
  // permanent even when mysql2 marks it fatal (handshake errors are).
  if (typeof e.code === 'string' && e.code.startsWith('ER_')) return false;
  // mysql2 marks errors after which the connection is unusable as fatal.
  if (e.fatal === true) return 'connection';
  if (typeof e.message === 'string' && /connection is in closed state/i.test(e.message)) {
    return 'connection';
  }
  return false;
}

/** True when the connection that raised `err` must not go back to the pool. */
export function isConnectionBroken(err: unknown): boolean {
  const e = err as MaybeMysqlError | undefined;
  return !!e && (e.fatal === true || isRetryableMysqlError(err) === 'connection');
}
