/**
 * `holdfast stock show` (Redis view, MySQL view, variance) and `holdfast stock load` (arm Redis
 * from MySQL's books for SKUs Redis does not know yet).
 */
import { Gate, Placement, type Redis } from '@holdfast/shared';
import type { RowDataPacket } from '@holdfast/shared/mysql';
import { reconcileShard, shardOfBooks, type SkuVariance } from '@holdfast/reconciler';
import type { Context } from '@holdfast/shared/tools';
import { CliError, EXIT, errorMessage } from '@holdfast/shared/tools';
import { renderTable } from '../table.js';

export interface Counters {
  total: number;
  available: number;
  held: number;
  sold: number;
}

export interface StockLine {
  sku: string;
  /** Contract v2: the shard the SKU lives on (its placement, else where it would be created). */
  shard: string;
  /** null: Redis does not know the SKU. */
  redis: Counters | null;
  /** null: MySQL has no row for the SKU (or MySQL was unreachable: see `mysql.ok`). */
  mysql: Counters | null;
  /** Redis − MySQL with in-flight ledger entries accounted for; null when unknown. */
  variance: number | null;
  /** Per-field variance, when not 0. */
  diff: Counters | null;
}

export interface StockReport {
  namespace: string;
  mysql: { ok: boolean; error?: string };
  varianceSource: { ok: boolean; error?: string };
  skus: StockLine[];
  /** Requested SKUs found neither in Redis nor in MySQL. */
  unknown: string[];
}

const toCounters = (v: readonly number[]): Counters => ({
  total: v[0]!,
  available: v[1]!,
  held: v[2]!,
  sold: v[3]!,
});

async function redisStock(redis: Redis, ctx: Context, wanted: string[] | undefined) {
  const keys = ctx.keys;
  const out = new Map<string, Counters>();
  const placed = wanted ? await new Placement(redis, keys).shardsOf(wanted) : undefined;
  for (const shard of keys.allShards) {
    const sk = keys.shard(shard);
    const skus = placed
      ? wanted!.filter((s) => placed.get(s) === shard)
      : (await redis.smembers(sk.skus)).sort();
    if (!skus.length) continue;
    const p = redis.pipeline();
    for (const sku of skus) p.hmget(sk.stock(sku), 'total', 'available', 'held', 'sold');
    const res = (await p.exec()) ?? [];
    skus.forEach((sku, i) => {
      const [err, v] = res[i]!;
      if (err) throw err;
      const vals = v as Array<string | null>;
      if (vals[0] === null) return;
      out.set(sku, toCounters(vals.map(Number)));
    });
  }
  return out;
}

async function mysqlStock(ctx: Context, wanted: string[] | undefined) {
  const out = new Map<string, Counters & { perUser: number }>();
  const where = wanted?.length ? ` WHERE sku IN (${wanted.map(() => '?').join(',')})` : '';
  const [rows] = await ctx
    .pool()
    .query<RowDataPacket[]>(
      `SELECT sku, total, available, held, sold, per_user_limit FROM inventory_stock${where} ORDER BY sku`,
      wanted ?? [],
    );
  for (const r of rows) {
    out.set(String(r.sku), {
      ...toCounters([Number(r.total), Number(r.available), Number(r.held), Number(r.sold)]),
      perUser: Number(r.per_user_limit),
    });
  }
  return out;
}

export async function stockReport(
  ctx: Context,
  wanted: string[] | undefined,
): Promise<StockReport> {
  const redis = await ctx.redis();
  const red = await redisStock(redis, ctx, wanted);
  const report: StockReport = {
    namespace: ctx.keys.namespace,
    mysql: { ok: true },
    varianceSource: { ok: true },
    skus: [],
    unknown: [],
  };
  let books = new Map<string, Counters>();
  try {
    books = await mysqlStock(ctx, wanted);
  } catch (err) {
    report.mysql = { ok: false, error: ctx.mysqlProblem(err) };
  }
  const variances = new Map<string, SkuVariance>();
  const owner = await shardOfBooks(redis, ctx.keys);
  if (report.mysql.ok) {
    try {
      for (const shard of ctx.keys.allShards) {
        const r = await reconcileShard(redis, ctx.pool(), ctx.keys, shard, owner);
        for (const v of r.variances) variances.set(v.sku, v);
      }
    } catch (err) {
      report.varianceSource = { ok: false, error: `reconcile failed: ${errorMessage(err)}` };
    }
  } else {
    report.varianceSource = { ok: false, error: 'MySQL unavailable' };
  }
  const all = wanted ?? [...new Set([...red.keys(), ...books.keys()])].sort();
  for (const sku of all) {
    const r = red.get(sku) ?? null;
    const m = books.get(sku) ?? null;
    if (!r && !m) report.unknown.push(sku);
    const v = variances.get(sku);
    report.skus.push({
      sku,
      shard: owner(sku),
      redis: r,
      mysql: m ? toCounters([m.total, m.available, m.held, m.sold]) : null,
      variance: report.varianceSource.ok ? (v?.variance ?? 0) : null,
      diff: v ? toCounters(v.diff) : null,
    });
  }
  return report;
}

export function renderStock(report: StockReport): string {
  const header = ['sku', 'shard', 'r.total', 'r.avail', 'r.held', 'r.sold'];
  if (report.mysql.ok) header.push('m.total', 'm.avail', 'm.held', 'm.sold');
  header.push('variance');
  const rows = report.skus.map((s) => {
    const row: Array<string | number | null> = [
      s.sku,
      s.shard,
      s.redis?.total ?? null,
      s.redis?.available ?? null,
      s.redis?.held ?? null,
      s.redis?.sold ?? null,
    ];
    if (report.mysql.ok) {
      row.push(
        s.mysql?.total ?? null,
        s.mysql?.available ?? null,
        s.mysql?.held ?? null,
        s.mysql?.sold ?? null,
      );
    }
    row.push(s.variance);
    return row;
  });
  if (!rows.length) return '(no SKUs)';
  return renderTable(header, rows);
}

export async function stockShow(
  ctx: Context,
  skus: string[],
  opts: { json?: boolean },
  out: (s: string) => void,
  warn: (s: string) => void,
): Promise<number> {
  const report = await stockReport(ctx, skus.length ? skus : undefined);
  if (!report.mysql.ok) warn(`warning: showing Redis only: ${report.mysql.error}`);
  else if (!report.varianceSource.ok)
    warn(`warning: variance unavailable: ${report.varianceSource.error}`);
  if (opts.json) out(JSON.stringify(report, null, 2));
  else out(renderStock(report));
  if (report.unknown.length) {
    warn(`unknown SKU${report.unknown.length > 1 ? 's' : ''}: ${report.unknown.join(', ')}`);
    return EXIT.failed;
  }
  return EXIT.ok;
}

/** Gate settings the seed call does not depend on, filled with the reserver's defaults. */
function gateConfig(ctx: Context) {
  return {
    dedupeTtlSeconds: ctx.config.DEDUPE_TTL_SECONDS,
    outcomesMaxLen: 1_000_000,
    holdDefaultSeconds: 600,
    holdMinSeconds: 1,
    holdMaxSeconds: 3_600,
    holdMaxTotalSeconds: 7_200,
    finishedHoldTtlSeconds: 86_400,
  };
}

export async function stockLoad(
  ctx: Context,
  skus: string[],
  opts: { dryRun?: boolean; json?: boolean },
  out: (s: string) => void,
): Promise<number> {
  const redis = await ctx.redis();
  let books: Awaited<ReturnType<typeof mysqlStock>>;
  try {
    books = await mysqlStock(ctx, skus.length ? skus : undefined);
  } catch (err) {
    throw new CliError(`cannot read the books: ${ctx.mysqlProblem(err)}`);
  }
  const keys = ctx.keys;
  const placement = new Placement(redis, keys);
  const results: Array<{
    sku: string;
    status: 'seeded' | 'exists' | 'would_seed';
    total: number;
    sold: number;
    released: number;
  }> = [];
  for (const [sku, b] of books) {
    const shard = opts.dryRun ? await placement.shardOf(sku) : (await placement.ensure(sku)).shard;
    const gate = new Gate(keys, gateConfig(ctx), shard);
    const sk = keys.shard(shard);
    if (await redis.sismember(sk.skus, sku)) {
      results.push({ sku, status: 'exists', total: b.total, sold: b.sold, released: 0 });
      continue;
    }
    if (opts.dryRun) {
      results.push({ sku, status: 'would_seed', total: b.total, sold: b.sold, released: b.held });
      continue;
    }
    const status = await gate.seed(redis, {
      sku,
      total: b.total,
      sold: b.sold,
      held: b.held,
      perUser: b.perUser,
    });
    results.push({
      sku,
      status,
      total: b.total,
      sold: b.sold,
      released: status === 'seeded' ? b.held : 0,
    });
  }
  const missing = skus.filter((s) => !books.has(s));
  if (opts.json) {
    out(JSON.stringify({ results, notInBooks: missing }, null, 2));
  } else {
    for (const r of results) {
      if (r.status === 'exists') out(`skip ${r.sku}: Redis already knows it`);
      else {
        const verb = r.status === 'seeded' ? 'seeded' : 'would seed';
        const rel = r.released ? ` (releasing ${r.released} units the books show held)` : '';
        out(
          `${verb} ${r.sku}: total ${r.total}, sold ${r.sold}, available ${r.total - r.sold}${rel}`,
        );
      }
    }
    const n = (st: string) => results.filter((r) => r.status === st).length;
    out(
      opts.dryRun
        ? `dry run: would seed ${n('would_seed')}, skip ${n('exists')} (already in Redis)`
        : `seeded ${n('seeded')}, skipped ${n('exists')} (already in Redis)`,
    );
  }
  if (missing.length) throw new CliError(`not in MySQL's books: ${missing.join(', ')}`);
  return EXIT.ok;
}
