/**
 * Phase 1, set the sale up: say where the demo runs, check the namespace is free, recreate
 * (or check) the database, arm the promo through inventory:admin, start the fleet and wait
 * until the reserver applied the promo.
 */
import { mkdirSync } from 'node:fs';
import { redactUrl } from '@holdfast/shared';
import { connectRedis } from '@holdfast/shared/tools';
import type { DemoContext } from '../context.js';
import { shortPath, type ReportFiles } from '../render/write.js';
import { prepareDatabase } from './database.js';
import { startDemoFleet } from './fleet.js';
import { armPromo, promoApplied, promoEntries, type AdminEntry } from './promo.js';
import { checkNamespaceEmpty, type DemoTarget } from './target.js';

export interface SaleSetup {
  promo: AdminEntry[];
  /** The fleet's demo settings (shown in the report). */
  fleetSettings: Record<string, string>;
}

export async function setUpSale(
  ctx: DemoContext,
  target: DemoTarget,
  stamp: string,
  files: ReportFiles,
): Promise<SaleSetup> {
  announce(ctx, target, files);
  const redis = (ctx.redis = await connectRedis(target.redisUrl));
  await checkNamespaceEmpty(redis, target);
  await prepareDatabase(target);
  ctx.check();
  mkdirSync(files.dir, { recursive: true });
  const promo = promoEntries(ctx.o, stamp);
  await armPromo(redis, target, promo);
  const o = ctx.o;
  ctx.io.out(
    `armed the promo on ${target.keys.streams.admin}: HOT-1 ${o.hotUnits} units (limit 2), WARM-1..${o.warmSkus} ${o.warmUnits} units each (limit 5)`,
  );
  const fleetSettings = await startDemoFleet(ctx, target, {
    log: files.log,
    shortLog: shortPath(files.log),
  });
  await ctx.until(
    () => promoApplied(redis, target, promo),
    'the reserver to apply the promo',
    60_000,
  );
  return { promo, fleetSettings };
}

/** The first lines: how many buyers, which servers, namespace, database, report directory. */
function announce(ctx: DemoContext, target: DemoTarget, files: ReportFiles): void {
  const { o, io } = ctx;
  io.out(
    `holdfast demo: ${o.buyers.toLocaleString('en-US')} buyers against ${redactUrl(target.redisUrl)} and ${redactUrl(target.mysqlUrl)}`,
  );
  io.out(
    target.ownNamespace
      ? `  Redis namespace "${target.namespace}" (fresh for this demo; ${o.keep ? 'kept afterwards (--keep)' : 'deleted afterwards, --keep keeps it'})`
      : `  Redis namespace "${target.namespace}" (from HOLDFAST_NAMESPACE; must be empty; kept afterwards)`,
  );
  io.out(
    target.recreateDatabase
      ? `  MySQL database "${target.database}" (dropped and recreated for this demo)`
      : `  MySQL database "${target.database}" (from MYSQL_URL; must have no books)`,
  );
  io.out(`  report and fleet logs: ${shortPath(files.dir)}/`);
}
