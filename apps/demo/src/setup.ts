/**
 * Where the demo runs and what it arms.
 *
 * By default a demo never touches anything but its own names: a fresh Redis namespace
 * `demo-<timestamp>:` and the MySQL database `holdfast_demo`, dropped and recreated. When
 * HOLDFAST_NAMESPACE / MYSQL_URL are set (tests, another server), they are honoured, but the
 * demo refuses a namespace or database that already holds data rather than mixing with it.
 */
import { Keys, redactUrl, type Redis } from '@holdfast/shared';
import { createMysqlPool, migrate, type RowDataPacket } from '@holdfast/shared/mysql';
import { loadConfig } from '@holdfast/shared/tools';
import { CliError, EXIT, errorMessage } from '@holdfast/shared/tools';
import { HOT_SKU, warmSku } from './crowd.js';
import type { DemoOptions } from './options.js';

export const DEMO_DATABASE = 'holdfast_demo';
const DEFAULT_MYSQL_SERVER = 'mysql://root@127.0.0.1:3306/';

export interface DemoTarget {
  redisUrl: string;
  mysqlUrl: string;
  namespace: string;
  shard: string;
  keys: Keys;
  /** The namespace is the demo's own (deleted at the end unless --keep). */
  ownNamespace: boolean;
  /** The database is the demo's own (`holdfast_demo`, dropped and recreated). */
  recreateDatabase: boolean;
  database: string;
}

/** `demo-20250101-120000` style stamp (local time), also the report directory's name. */
export function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function resolveTarget(
  stamp: string,
  env: Record<string, string | undefined> = process.env,
): DemoTarget {
  const givenNs = env.HOLDFAST_NAMESPACE ? env.HOLDFAST_NAMESPACE : undefined;
  const givenMysql = env.MYSQL_URL ? env.MYSQL_URL : undefined;
  const namespace = givenNs ?? `demo-${stamp}:`;
  // Validated like the services do (a bad value → ConfigError → exit 2).
  const cfg = loadConfig({
    ...env,
    HOLDFAST_NAMESPACE: namespace,
    MYSQL_URL: givenMysql ?? `${DEFAULT_MYSQL_SERVER}${DEMO_DATABASE}`,
  });
  const database = decodeURIComponent(new URL(cfg.MYSQL_URL).pathname.slice(1));
  return {
    redisUrl: cfg.REDIS_URL,
    mysqlUrl: cfg.MYSQL_URL,
    namespace: cfg.HOLDFAST_NAMESPACE,
    shard: cfg.HOLDFAST_SHARD,
    keys: new Keys(cfg.HOLDFAST_NAMESPACE, cfg.HOLDFAST_SHARD),
    ownNamespace: !givenNs,
    recreateDatabase: database === DEMO_DATABASE,
    database,
  };
}

/** Refuses a namespace that already has streams or SKUs (the checks would mix two runs). */
export async function checkNamespaceEmpty(redis: Redis, t: DemoTarget): Promise<void> {
  const s = t.keys.streams;
  const sk = t.keys.shard();
  const n = await redis.exists(s.events, s.outcomes, s.admin, sk.skus, sk.ledger, sk.inbound);
  if (n > 0) {
    throw new CliError(
      `Redis namespace "${t.namespace}" is already in use (streams or SKUs exist); the demo needs ` +
        'an empty one: unset HOLDFAST_NAMESPACE for a fresh demo-<timestamp>: namespace',
      EXIT.usage,
    );
  }
}

/** Drops and recreates holdfast_demo, or checks that a database the user named is empty. */
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
    if (t.recreateDatabase) {
      await c.query(`DROP DATABASE IF EXISTS \`${t.database}\``);
    } else {
      const [rows] = await c.query<RowDataPacket[]>(
        `SELECT table_name AS t, table_rows AS n FROM information_schema.tables
          WHERE table_schema = ? AND table_name IN ('inventory_stock', 'inventory_ledger')`,
        [t.database],
      );
      for (const r of rows) {
        const [[cnt]] = (await c.query(
          `SELECT COUNT(*) AS n FROM \`${t.database}\`.\`${String(r.t)}\``,
        )) as unknown as [[{ n: number }]];
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
  } finally {
    await c.end().catch(() => {});
  }
  await migrate(t.mysqlUrl);
}

export interface AdminEntry {
  type: 'restock' | 'set_limit';
  event_id: string;
  sku: string;
  qty?: string;
  per_user?: string;
}

/** The promo: HOT-1 (limit 2) and WARM-1..N (limit 5), as public admin entries. */
export function promoEntries(o: DemoOptions, stamp: string): AdminEntry[] {
  const out: AdminEntry[] = [];
  const add = (sku: string, qty: number, limit: number) => {
    out.push({ type: 'restock', event_id: `demo-${stamp}-restock-${sku}`, sku, qty: String(qty) });
    out.push({
      type: 'set_limit',
      event_id: `demo-${stamp}-limit-${sku}`,
      sku,
      per_user: String(limit),
    });
  };
  add(HOT_SKU, o.hotUnits, 2);
  for (let n = 1; n <= o.warmSkus; n++) add(warmSku(n), o.warmUnits, 5);
  return out;
}

/** XADDs the promo to inventory:admin (the operators' public stream). */
export async function armPromo(redis: Redis, t: DemoTarget, entries: AdminEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 500) {
    const p = redis.pipeline();
    for (const e of entries.slice(i, i + 500)) {
      p.xadd(t.keys.streams.admin, '*', ...Object.entries(e).flat());
    }
    const res = (await p.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
  }
}

/** True once the reserver applied every admin entry (its admin dedupe key reads 'd'). */
export async function promoApplied(
  redis: Redis,
  t: DemoTarget,
  entries: AdminEntry[],
): Promise<boolean> {
  const sk = t.keys.shard();
  const marks = await redis.mget(...entries.map((e) => sk.adminEvent(e.event_id)));
  return marks.every((m) => m === 'd');
}
