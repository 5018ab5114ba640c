import { describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { test as holdfastTest } from '@holdfast/testkit';
import {
  RetryableMysqlError,
  createMysqlPool,
  isConnectionBroken,
  isRetryableMysqlError,
  migrate,
  parseMysqlUrl,
  redactMysqlUrl as redactUrl,
  toSafeInteger,
  type Pool,
} from '@holdfast/shared/mysql';

/** Each test: its own migrated database (the test kit's `mysql` fixture) and a pool on it. */
const test = holdfastTest.extend<{ pool: Pool }>({
  pool: async ({ mysql }, use) => {
    await migrate(mysql.url);
    const pool = createMysqlPool(mysql.url, { connectionLimit: 3 });
    try {
      await use(pool);
    } finally {
      await pool.end();
    }
  },
});

describe('redactUrl / parseMysqlUrl', () => {
  it('removes passwords, keeps the rest', () => {
    expect(redactUrl('mysql://app:s3cr%40t@db.example:3307/holdfast')).toBe(
      'mysql://app:***@db.example:3307/holdfast',
    );
    expect(redactUrl('mysql://root@127.0.0.1:3306/holdfast')).toBe(
      'mysql://root@127.0.0.1:3306/holdfast',
    );
    expect(redactUrl('mysql://u@h/db?password=x&ssl=true')).toBe(
      'mysql://u@h/db?password=***&ssl=true',
    );
    expect(redactUrl('mysql://u:pw@[bad')).not.toContain('pw');
  });

  it('parses user, password, host, port and database', () => {
    expect(parseMysqlUrl('mysql://app:s3cr%40t@db.example:3307/hold%2Dfast')).toMatchObject({
      host: 'db.example',
      port: 3307,
      user: 'app',
      password: 's3cr@t',
      database: 'hold-fast',
    });
    expect(parseMysqlUrl('mysql://root@127.0.0.1/x').port).toBe(3306);
    expect(() => parseMysqlUrl('redis://x:1/y')).toThrow(/expected mysql/);
    expect(() => parseMysqlUrl('mysql://u:secret@[bad')).toThrow(/invalid MySQL URL/);
    expect(() => parseMysqlUrl('mysql://u:secret@[bad')).not.toThrow(/secret/);
  });

  it('toSafeInteger refuses precision loss', () => {
    expect(toSafeInteger(5)).toBe(5);
    expect(toSafeInteger('42')).toBe(42);
    expect(() => toSafeInteger('9007199254740993')).toThrow(/safe integer/);
  });
});

describe('isRetryableMysqlError', () => {
  it('labels transient errors', () => {
    expect(isRetryableMysqlError({ errno: 1213, code: 'ER_LOCK_DEADLOCK' })).toBe('deadlock');
    expect(isRetryableMysqlError({ errno: 1205 })).toBe('lock_timeout');
    expect(isRetryableMysqlError({ code: 'ER_DUP_ENTRY', errno: 1062 })).toBe('duplicate_race');
    for (const code of [
      'ECONNREFUSED',
      'PROTOCOL_CONNECTION_LOST',
      'ETIMEDOUT',
      'ER_SERVER_SHUTDOWN',
    ]) {
      expect(isRetryableMysqlError({ code })).toBe('connection');
    }
    expect(isRetryableMysqlError(new RetryableMysqlError('duplicate_race', 'x'))).toBe(
      'duplicate_race',
    );
    expect(isRetryableMysqlError(new Error('wrapped', { cause: { errno: 1213 } }))).toBe(
      'deadlock',
    );
    expect(isRetryableMysqlError({ code: 'X', fatal: true })).toBe('connection');
  });

  it('does not retry permanent errors', () => {
    expect(isRetryableMysqlError({ code: 'ER_PARSE_ERROR', errno: 1064 })).toBe(false);
    expect(
      isRetryableMysqlError({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, fatal: true }),
    ).toBe(false);
    expect(isRetryableMysqlError(new Error('boom'))).toBe(false);
    expect(isRetryableMysqlError(undefined)).toBe(false);
    expect(isConnectionBroken({ code: 'ER_PARSE_ERROR' })).toBe(false);
    expect(isConnectionBroken({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true })).toBe(true);
  });

  it('classifies a refused connection from mysql2 itself', async () => {
    const pool = createMysqlPool('mysql://root@127.0.0.1:1/x', { connectTimeoutMs: 2000 });
    try {
      const err = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect(isRetryableMysqlError(err)).toBe('connection');
    } finally {
      await pool.end();
    }
  });
});

describe('createMysqlPool against the server', () => {
  test('returns BIGINTs as numbers while safe, strings beyond, timestamps as strings', async ({
    pool,
  }) => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT CAST(42 AS SIGNED) AS small, CAST(9007199254740993 AS SIGNED) AS big, CURRENT_TIMESTAMP(3) AS ts',
    );
    expect(rows[0]!.small).toBe(42);
    expect(rows[0]!.big).toBe('9007199254740993');
    expect(rows[0]!.ts).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
  });

  test('runs every session strict and in UTC, one statement per query', async ({ pool }) => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT @@SESSION.sql_mode AS m, @@SESSION.time_zone AS tz',
    );
    expect(rows[0]!.m).toContain('STRICT_TRANS_TABLES');
    expect(rows[0]!.tz).toBe('+00:00');
    // A too-long SKU is an error, never a silently truncated key.
    const err = await pool
      .query('INSERT INTO inventory_stock (sku) VALUES (?)', ['x'.repeat(129)])
      .catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('ER_DATA_TOO_LONG');
    await expect(pool.query('SELECT 1; SELECT 2')).rejects.toMatchObject({
      code: 'ER_PARSE_ERROR',
    });
  });

  test('refuses stock rows that break the invariants (CHECK constraints)', async ({ pool }) => {
    await expect(
      pool.query("INSERT INTO inventory_stock (sku, total, available) VALUES ('bad', 1, 2)"),
    ).rejects.toThrow();
    await expect(
      pool.query(
        "INSERT INTO inventory_stock (sku, total, available, held) VALUES ('bad', 0, 1, -1)",
      ),
    ).rejects.toThrow();
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT * FROM inventory_stock WHERE sku = 'bad'",
    );
    expect(rows).toEqual([]);
  });

  test('labels a real duplicate-key error as duplicate_race', async ({ pool }) => {
    await pool.query("INSERT INTO inventory_stock (sku) VALUES ('dup')");
    const err = await pool
      .query("INSERT INTO inventory_stock (sku) VALUES ('dup')")
      .catch((e: unknown) => e);
    expect(isRetryableMysqlError(err)).toBe('duplicate_race');
  });
});
