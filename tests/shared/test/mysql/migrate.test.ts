import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { isolatedEnv, randomId, type IsolatedEnv } from '@holdfast/testkit';
import {
  MigrationChecksumError,
  MigrationError,
  loadMigrations,
  migrate,
  splitSqlStatements,
} from '@holdfast/shared/mysql';
import { createMysqlPool } from '@holdfast/shared/mysql';

let env: IsolatedEnv;
const extraDbs: string[] = [];

/** Same server as env.mysqlUrl, another database (dropped in afterAll). */
function otherDb(): string {
  const name = `${new URL(env.mysqlUrl).pathname.slice(1)}_${randomId(3)}`;
  extraDbs.push(name);
  const u = new URL(env.mysqlUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function rows<T = RowDataPacket>(url: string, sql: string): Promise<T[]> {
  const c = await createConnection(url);
  try {
    const [r] = await c.query<RowDataPacket[]>(sql);
    return r as T[];
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  env = await isolatedEnv();
});

afterAll(async () => {
  if (extraDbs.length) {
    const u = new URL(env.mysqlUrl);
    u.pathname = '/';
    const c = await createConnection(u.toString());
    for (const db of extraDbs) await c.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await c.end();
  }
  await env?.cleanup();
});

describe('migrate', () => {
  it('creates the tables and is idempotent', async () => {
    const files = await loadMigrations();
    expect(files.length).toBeGreaterThan(0);
    const first = await migrate(env.mysqlUrl);
    expect(first.applied.map((a) => a.version)).toEqual(files.map((f) => f.version));
    const second = await migrate(env.mysqlUrl);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(files.length);

    const tables = (await rows(env.mysqlUrl, 'SHOW TABLES')).map((r) =>
      String(Object.values(r)[0]),
    );
    expect(tables).toEqual(
      expect.arrayContaining([
        'inventory_stock',
        'inventory_ledger',
        'ledger_incidents',
        'schema_migrations',
      ]),
    );
    const recorded = await rows(
      env.mysqlUrl,
      'SELECT version, name, checksum FROM schema_migrations',
    );
    expect(recorded.map((r) => [r.version, r.name, r.checksum])).toEqual(
      files.map((f) => [f.version, f.name, f.checksum]),
    );
  });

  it('accepts a pool', async () => {
    const pool = createMysqlPool(env.mysqlUrl, { connectionLimit: 2 });
    try {
      const res = await migrate(pool);
      expect(res.applied).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('creates a missing database and is safe when 5 replicas start at once', async () => {
    const url = otherDb();
    const logs: string[] = [];
    const log = {
      info: (_o: Record<string, unknown>, msg?: string) => logs.push(msg ?? ''),
      warn: (_o: Record<string, unknown>, msg?: string) => logs.push(msg ?? ''),
    };
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(url, log)));
    const files = await loadMigrations();
    // Every migration applied exactly once, by exactly one of the five.
    const appliedVersions = results.flatMap((r) => r.applied.map((a) => a.version)).sort();
    expect(appliedVersions).toEqual(files.map((f) => f.version));
    const recorded = await rows(url, 'SELECT COUNT(*) AS n FROM schema_migrations');
    expect(Number(recorded[0]!.n)).toBe(files.length);
    expect(logs.filter((l) => l === 'migration applied')).toHaveLength(files.length);
  });

  it('fails clearly when an applied file was changed, and logs unknown applied versions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-migrations-'));
    try {
      const url = otherDb();
      await writeFile(
        join(dir, '0001_a.sql'),
        'CREATE TABLE IF NOT EXISTS a (id INT PRIMARY KEY);\n',
      );
      await writeFile(
        join(dir, '0002_b.sql'),
        "-- b\nCREATE TABLE IF NOT EXISTS b (id INT PRIMARY KEY, s VARCHAR(10) DEFAULT 'x;');\nINSERT INTO b (id) VALUES (1);\n",
      );
      const opts = { dir, lockName: `hf_test_${randomId()}` };
      expect((await migrate(url, undefined, opts)).applied).toHaveLength(2);
      expect(await rows(url, 'SELECT id, s FROM b')).toEqual([{ id: 1, s: 'x;' }]);

      // Adding a file applies only the new one.
      await writeFile(join(dir, '0003_c.sql'), 'ALTER TABLE b ADD COLUMN c INT NULL;\n');
      expect((await migrate(url, undefined, opts)).applied).toEqual([{ version: 3, name: 'c' }]);

      // Editing an applied file is refused, and nothing new is applied.
      await writeFile(
        join(dir, '0001_a.sql'),
        'CREATE TABLE IF NOT EXISTS a (id BIGINT PRIMARY KEY);\n',
      );
      await writeFile(join(dir, '0004_d.sql'), 'CREATE TABLE d (id INT PRIMARY KEY);\n');
      const err = await migrate(url, undefined, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationChecksumError);
      expect((err as Error).message).toMatch(/0001_a\.sql.*changed after it was applied/);
      expect(await rows(url, "SHOW TABLES LIKE 'd'")).toEqual([]);

      // A database migrated by a newer build (version unknown here) is not an error.
      await writeFile(
        join(dir, '0001_a.sql'),
        'CREATE TABLE IF NOT EXISTS a (id INT PRIMARY KEY);\n',
      );
      await rm(join(dir, '0004_d.sql'));
      const c = await createConnection(url);
      await c.query(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (9, 'future', REPEAT('0', 64))",
      );
      await c.end();
      const warned: unknown[] = [];
      const res = await migrate(
        url,
        { info: () => {}, warn: (o: Record<string, unknown>) => warned.push(o) },
        opts,
      );
      expect(res.unknownApplied).toEqual([9]);
      expect(warned).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports the failing statement of a broken migration and does not record it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-migrations-'));
    try {
      const url = otherDb();
      await writeFile(
        join(dir, '0001_bad.sql'),
        'CREATE TABLE IF NOT EXISTS x (id INT);\nSELEC 1;\n',
      );
      const err = await migrate(url, undefined, { dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationError);
      expect((err as Error).message).toMatch(/0001_bad\.sql failed at statement 2\/2/);
      expect(await rows(url, 'SELECT * FROM schema_migrations')).toEqual([]);
      // The lock was released: the next run does not wait 30 s.
      const t0 = Date.now();
      await expect(migrate(url, undefined, { dir })).rejects.toThrow(/statement 2\/2/);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad file names and duplicate versions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-migrations-'));
    try {
      await writeFile(join(dir, '0001_a.sql'), 'SELECT 1;\n');
      await writeFile(join(dir, '0001_b.sql'), 'SELECT 1;\n');
      await expect(loadMigrations(dir)).rejects.toThrow(/share version 1/);
      await rm(join(dir, '0001_b.sql'));
      await writeFile(join(dir, 'oops.sql'), 'SELECT 1;\n');
      await expect(loadMigrations(dir)).rejects.toThrow(/NNNN_name\.sql/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('splitSqlStatements', () => {
  it('splits on ; at line end, one statement per chunk', () => {
    expect(splitSqlStatements('SELECT 1;\nSELECT 2;   \n\nSELECT\n  3;')).toEqual([
      'SELECT 1',
      'SELECT 2',
      'SELECT\n  3',
    ]);
  });

  it('understands quotes and comments', () => {
    const sql = [
      '-- leading comment; not a statement;',
      '# hash comment;',
      "INSERT INTO t VALUES ('a;\n', \"b;\", 'it''s;', 'back\\';slash'); -- trailing; comment",
      '/* block;',
      '   comment; */',
      'CREATE TABLE `we;ird` (id INT); # done',
      '-- only a comment at the end;',
    ].join('\n');
    expect(splitSqlStatements(sql)).toEqual([
      "INSERT INTO t VALUES ('a;\n', \"b;\", 'it''s;', 'back\\';slash')",
      'CREATE TABLE `we;ird` (id INT)',
    ]);
  });

  it('keeps comments inside a statement', () => {
    expect(splitSqlStatements('CREATE TABLE t (\n  id INT -- the id;\n);\n')).toEqual([
      'CREATE TABLE t (\n  id INT -- the id;\n)',
    ]);
  });

  it('keeps a last statement without a terminator and normalises CRLF', () => {
    expect(splitSqlStatements('SELECT 1;\r\nSELECT 2\r\n')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('rejects two statements on one line, unterminated quotes and DELIMITER', () => {
    expect(() => splitSqlStatements('SELECT 1; SELECT 2;')).toThrow(/must end its line/);
    expect(() => splitSqlStatements("SELECT 'x;\n")).toThrow(/unterminated ' quote/);
    expect(() => splitSqlStatements('DELIMITER $$\n')).toThrow(/DELIMITER/);
  });

  it('splits the shipped migrations into CREATE statements', async () => {
    for (const f of await loadMigrations()) {
      expect(f.statements.length).toBeGreaterThan(0);
      for (const s of f.statements) expect(s).not.toMatch(/;\s*$/);
    }
  });
});
