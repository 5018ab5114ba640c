/**
 * Versioned SQL migrations, applied by every service on start (see docs/mysql.md).
 *
 * - Files `NNNN_name.sql` in packages/shared/migrations/, applied in version order.
 * - Applied files are recorded in `schema_migrations(version, name, checksum, applied_at)`;
 *   running again applies only what is pending (idempotent).
 * - Replicas starting together serialise on `GET_LOCK('holdfast_migrate', 30)`, taken on one
 *   dedicated connection that runs everything and releases the lock in `finally` (the server
 *   also drops it if the connection dies).
 * - An applied file whose content changed fails with MigrationChecksumError: migrations are
 *   immutable once shipped.
 * - Versions recorded in the database but unknown to this build (a newer build migrated
 *   already, rolling deploy) are logged, not fatal: migrations must stay backward compatible.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import {
  createConnection,
  type Connection,
  type Pool,
  type PoolConnection,
  type RowDataPacket,
} from 'mysql2/promise';
import { isConnectionBroken } from './errors.js';
import { SESSION_INIT_SQL, baseConnectionOptions, databaseFromUrl, redactUrl } from './pool.js';

/** Where the project's migration files live. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export const DEFAULT_MIGRATION_LOCK = 'holdfast_migrate';

/** pino-compatible (also console-compatible) logger. */
export interface MigrateLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
}

export interface MigrateOptions {
  /** Directory of `NNNN_name.sql` files (default: packages/shared/migrations). */
  dir?: string;
  /** GET_LOCK name (default 'holdfast_migrate'; server-wide in MySQL ≥ 5.7 and MariaDB). */
  lockName?: string;
  /** Seconds to wait for the lock (default 30). */
  lockTimeoutSeconds?: number;
}

export interface MigrationFile {
  version: number;
  name: string;
  file: string;
  checksum: string;
  statements: string[];
}

export interface MigrateResult {
  /** Migrations this call applied, in order. */
  applied: Array<{ version: number; name: string }>;
  /** Migrations that were already applied (checksums verified). */
  alreadyApplied: number;
  /** Versions recorded in the database that this build does not know (newer build ran). */
  unknownApplied: number[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export class MigrationChecksumError extends MigrationError {
  override name = 'MigrationChecksumError';
  constructor(
    readonly version: number,
    readonly file: string,
    readonly recorded: string,
    readonly actual: string,
  ) {
    super(
      `migration ${file} (version ${version}) was changed after it was applied: recorded checksum ` +
        `${recorded.slice(0, 12)}…, file now ${actual.slice(0, 12)}…. Applied migrations are ` +
        `immutable: restore the file and put the change in a new migration.`,
    );
  }
}

const FILE_RE = /^(\d{4,})_([A-Za-z0-9_-]+)\.sql$/;

/** sha256 of the file with line endings normalised (a CRLF checkout is the same migration). */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n?/g, '\n'), 'utf8').digest('hex');
}

/** Reads and parses every migration file of `dir`, sorted by version. */
export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: MigrationFile[] = [];
  const seen = new Map<number, string>();
  for (const file of names) {
    const m = FILE_RE.exec(file);
    if (!m) throw new MigrationError(`migration file name ${file} does not match NNNN_name.sql`);
    const version = Number(m[1]);
    const dup = seen.get(version);
    if (dup) throw new MigrationError(`migrations ${dup} and ${file} share version ${version}`);
    seen.set(version, file);
    const sql = await readFile(join(dir, file), 'utf8');
    let statements: string[];
    try {
      statements = splitSqlStatements(sql);
    } catch (err) {
      throw new MigrationError(`${file}: ${(err as Error).message}`);
    }
    out.push({ version, name: m[2]!, file, checksum: migrationChecksum(sql), statements });
  }
  return out.sort((a, b) => a.version - b.version);
}

/**
 * Splits a migration file into single statements (no multipleStatements). A statement ends
 * with `;` at the end of a line (trailing whitespace or a `--`/`#` comment allowed). Quotes
 * ('…', "…", `…`, with backslash escapes and doubled quotes) and comments (`-- `, `#`,
 * `/* … *\/`) are understood, so a `;` inside them never splits. A `;` followed by more SQL on
 * the same line is rejected: it would be two statements on one line. Comment-only chunks are
 * dropped, and so are comments before a statement; DELIMITER is not supported (no stored programs in migrations).
 */
export function splitSqlStatements(sql: string): string[] {
  const src = sql.replace(/\r\n?/g, '\n');
  const out: string[] = [];
  let start = 0; // where the current statement's code begins (leading comments dropped)
  let hasCode = false; // the current chunk has something other than whitespace and comments
  const code = (pos: number) => {
    if (!hasCode) start = pos;
    hasCode = true;
  };
  let i = 0;
  const n = src.length;
  const lineOf = (pos: number) => src.slice(0, pos).split('\n').length;
  while (i < n) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '-' && next === '-' && (i + 2 >= n || /\s/.test(src[i + 2]!))) {
      i = skipToEol(src, i);
      continue;
    }
    if (c === '#') {
      i = skipToEol(src, i);
      continue;
    }
    if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`unterminated /* comment (line ${lineOf(i)})`);
      // Executable comments (/*! … */) are code for the server.
      if (src[i + 2] === '!') code(i);
      i = end + 2;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      code(i);
      const open = i;
      i++;
      for (;;) {
        if (i >= n) throw new Error(`unterminated ${c} quote (line ${lineOf(open)})`);
        const q = src[i]!;
        if (q === '\\' && c !== '`') {
          i += 2;
          continue;
        }
        if (q === c) {
          if (src[i + 1] === c) {
            i += 2; // doubled quote
            continue;
          }
          i++;
          break;
        }
        i++;
      }
      continue;
    }
    if (c === ';') {
      const eol = src.indexOf('\n', i);
      const rest = src.slice(i + 1, eol < 0 ? n : eol);
      if (!/^\s*((--(\s.*)?|#.*))?$/.test(rest)) {
        throw new Error(
          `';' must end its line: one statement per line end (line ${lineOf(i)}: ${JSON.stringify(rest.trim())})`,
        );
      }
      if (hasCode) out.push(src.slice(start, i).trim());
      hasCode = false;
      i++;
      continue;
    }
    if (/^delimiter\s/i.test(src.slice(i, i + 10)) && (i === 0 || src[i - 1] === '\n')) {
      throw new Error(`DELIMITER is not supported (line ${lineOf(i)})`);
    }
    if (!/\s/.test(c)) code(i);
    i++;
  }
  if (hasCode) out.push(src.slice(start).trim());
  return out;
}

function skipToEol(src: string, i: number): number {
  const eol = src.indexOf('\n', i);
  return eol < 0 ? src.length : eol + 1;
}

const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INT UNSIGNED NOT NULL,
  name       VARCHAR(255) NOT NULL,
  checksum   CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/** A backtick-quoted MySQL identifier (backticks inside doubled), exact for any name. */
export const quoteIdent = (s: string) => '`' + s.replace(/`/g, '``') + '`';

/**
 * Applies pending migrations. Given a URL, creates the database it names when missing (on a
 * dedicated connection, under the lock); given a pool, uses one of its connections (the
 * pool's database must exist).
 */
export async function migrate(
  target: string | Pool,
  log?: MigrateLogger,
  opts: MigrateOptions = {},
): Promise<MigrateResult> {
  const files = await loadMigrations(opts.dir);
  const lockName = opts.lockName ?? DEFAULT_MIGRATION_LOCK;
  const lockTimeout = opts.lockTimeoutSeconds ?? 30;

  let conn: Connection | PoolConnection;
  let database: string;
  let done: (broken: boolean) => Promise<void>;
  if (typeof target === 'string') {
    database = databaseFromUrl(target);
    if (!database) throw new MigrationError(`MySQL URL names no database: ${redactUrl(target)}`);
    const c = await createConnection({ ...baseConnectionOptions(target), database: undefined });
    conn = c;
    done = async (broken) => {
      if (broken) c.destroy();
      else await c.end().catch(() => c.destroy());
    };
  } else {
    const c = await target.getConnection();
    conn = c;
    database = '';
    done = async (broken) => {
      if (broken) c.destroy();
      else c.release();
    };
  }

  let locked = false;
  let broken = false;
  try {
    await conn.query(SESSION_INIT_SQL);
    const [lockRows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [
      lockName,
      lockTimeout,
    ]);
    const got = lockRows[0]?.got;
    if (got !== 1) {
      throw new MigrationError(
        got === 0
          ? `timed out after ${lockTimeout}s waiting for migration lock '${lockName}' (another replica is migrating, or a session holds it)`
          : `could not take migration lock '${lockName}'`,
      );
    }
    locked = true;

    if (database) {
      await conn.query(
        `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
      );
      await conn.query(`USE ${quoteIdent(database)}`);
    } else {
      const [rows] = await conn.query<RowDataPacket[]>('SELECT DATABASE() AS db');
      database = String(rows[0]?.db ?? '');
      if (!database) throw new MigrationError('the pool selects no database');
    }
    await conn.query(SCHEMA_MIGRATIONS_DDL);

    const [appliedRows] = await conn.query<RowDataPacket[]>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const recorded = new Map<number, { name: string; checksum: string }>();
    for (const r of appliedRows) {
      recorded.set(Number(r.version), { name: String(r.name), checksum: String(r.checksum) });
    }
    const known = new Set(files.map((f) => f.version));
    const unknownApplied = [...recorded.keys()].filter((v) => !known.has(v));
    if (unknownApplied.length) {
      log?.warn(
        { database, versions: unknownApplied },
        'database has migrations this build does not know (a newer build migrated it)',
      );
    }
    // Verify every applied file before applying anything new.
    for (const f of files) {
      const r = recorded.get(f.version);
      if (r && r.checksum !== f.checksum) {
        throw new MigrationChecksumError(f.version, f.file, r.checksum, f.checksum);
      }
    }

    const applied: MigrateResult['applied'] = [];
    for (const f of files) {
      if (recorded.has(f.version)) continue;
      const t0 = Date.now();
      for (const [idx, stmt] of f.statements.entries()) {
        try {
          await conn.query(stmt);
        } catch (err) {
          throw new MigrationError(
            `migration ${f.file} failed at statement ${idx + 1}/${f.statements.length}: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
      await conn.query('INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)', [
        f.version,
        f.name,
        f.checksum,
      ]);
      applied.push({ version: f.version, name: f.name });
      log?.info(
        { database, version: f.version, migration: f.file, ms: Date.now() - t0 },
        'migration applied',
      );
    }
    if (!applied.length) log?.info({ database, versions: files.length }, 'schema up to date');
    return { applied, alreadyApplied: files.length - applied.length, unknownApplied };
  } catch (err) {
    if (isConnectionBroken(err)) broken = true;
    throw err;
  } finally {
    if (locked && !broken) {
      await conn.query('SELECT RELEASE_LOCK(?)', [lockName]).catch(() => {
        broken = true; // dropping the connection releases the lock too
      });
    }
    await done(broken);
  }
}
