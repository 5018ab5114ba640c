/**
 * `holdfast reconcile --once`: one reconciliation of every shard (the reconciler service's own
 * code), printed as a table or JSON; with `--compensate --yes`, one `compensate` ledger entry per
 * drifting SKU moves MySQL to Redis's values through the ledger-writer (MySQL is never edited
 * directly).
 */
import { randomUUID } from 'node:crypto';
import { reconcileAll, type ReconcileReport } from '@holdfast/reconciler';
import type { Context } from '@holdfast/shared/tools';
import { CliError, EXIT, errorMessage, usageError } from '@holdfast/shared/tools';
import { renderTable } from '../table.js';

export interface Compensation {
  shard: string;
  sku: string;
  changeId: string;
  entryId: string;
  /** [[sku, d_total, d_available, d_held, d_sold]] as written. */
  lines: Array<[string, number, number, number, number]>;
}

export interface ReconcileOptions {
  json?: boolean;
  compensate?: boolean;
  yes?: boolean;
}

/** mysql2 errors carry a SQL state or errno; socket errors an E… code. */
function isMysqlError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { sqlState?: unknown; errno?: unknown; code?: unknown };
  return (
    e.sqlState !== undefined ||
    typeof e.errno === 'number' ||
    /^E[A-Z]+$/.test(String(e.code ?? ''))
  );
}

export function renderReports(reports: ReconcileReport[]): string {
  const out: string[] = [];
  for (const r of reports) {
    out.push(
      `shard ${r.shard}: ${r.skus} SKUs, ledger at ${r.lastLedgerId}, ${r.inFlightEntries} in-flight entries, ` +
        `${r.committedAfterSnapshot} committed after the snapshot, ${r.durationMs} ms`,
    );
    if (!r.variances.length) {
      out.push('  no variance: MySQL agrees with Redis');
      continue;
    }
    const f = (c: readonly number[]) => c.join('/');
    out.push(
      renderTable(
        [
          'sku',
          'variance',
          'Δtotal',
          'Δavail',
          'Δheld',
          'Δsold',
          'redis t/a/h/s',
          'mysql t/a/h/s',
          'in-flight t/a/h/s',
        ],
        r.variances.map((v) => [
          v.sku,
          v.variance,
          ...v.diff,
          f(v.redis),
          f(v.mysql),
          f(v.inFlight),
        ]),
      )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
    out.push(`  VARIANCE on ${r.variances.length} SKU(s), total |variance| ${r.totalAbsVariance}`);
  }
  return out.join('\n');
}

export async function reconcileOnce(
  ctx: Context,
  opts: ReconcileOptions,
  out: (s: string) => void,
): Promise<number> {
  if (opts.compensate && !opts.yes) {
    throw usageError('--compensate writes ledger entries that change MySQL: add --yes to approve');
  }
  const redis = await ctx.redis();
  let reports: ReconcileReport[];
  try {
    reports = await reconcileAll(redis, ctx.pool(), ctx.keys);
  } catch (err) {
    throw new CliError(
      `reconcile failed: ${isMysqlError(err) ? ctx.mysqlProblem(err) : errorMessage(err)}`,
    );
  }
  const drift = reports.some((r) => r.variances.length > 0);
  const compensations: Compensation[] = [];
  if (opts.compensate && drift) {
    for (const r of reports) {
      if (!r.variances.length) continue;
      const ledger = ctx.keys.shard(r.shard).ledger;
      const multi = redis.multi();
      const planned: Array<Omit<Compensation, 'entryId'>> = [];
      for (const v of r.variances) {
        const changeId = `compensate:${randomUUID()}`;
        const lines: Compensation['lines'] = [[v.sku, ...v.diff]];
        multi.xadd(
          ledger,
          '*',
          'change_id',
          changeId,
          'kind',
          'compensate',
          'event_id',
          changeId,
          'checkout_id',
          '',
          'at',
          String(Date.now()),
          'lines',
          JSON.stringify(lines),
        );
        planned.push({ shard: r.shard, sku: v.sku, changeId, lines });
      }
      const res = (await multi.exec()) ?? [];
      res.forEach(([err, id], i) => {
        if (err) throw new CliError(`compensation failed: ${errorMessage(err)}`);
        compensations.push({ ...planned[i]!, entryId: String(id) });
      });
    }
  }
  if (opts.json) {
    out(JSON.stringify({ ok: !drift, reports, compensations }, null, 2));
  } else {
    out(renderReports(reports));
    for (const c of compensations) {
      const [, dt, da, dh, ds] = c.lines[0]!;
      out(
        `compensated ${c.sku}: wrote ${c.changeId} (entry ${c.entryId} on ${ctx.keys.shard(c.shard).ledger}) ` +
          `Δtotal ${dt} Δavailable ${da} Δheld ${dh} Δsold ${ds}`,
      );
    }
    if (compensations.length) {
      out(
        'the ledger-writer applies these to MySQL; run `holdfast reconcile --once` again to confirm 0',
      );
    }
  }
  return drift ? EXIT.failed : EXIT.ok;
}
