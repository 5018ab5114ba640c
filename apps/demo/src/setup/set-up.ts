/**
 * Phase 1, set the sale up: say where the demo runs, check the namespace is free, recreate
 * (or check) the database, start the fleet, place the SKUs on the shards (more than one shard),
 * arm the promo through inventory:admin and wait until the reserver applied it.
 */
import { mkdirSync } from 'node:fs';
import { redactUrl } from '@holdfast/shared';
import { xaddMany } from '@holdfast/shared/inspect';
import { connectRedis } from '@holdfast/shared/tools';
import type { DemoContext } from '../context.js';
import { shortPath, type ReportFiles } from '../render/write.js';
import { prepareDatabase } from './database.js';
import { startDemoFleet } from './fleet.js';
import {
  armPromo,
  placeEntries,
  placementRecorded,
  promoApplied,
  promoEntries,
  promoPlacement,
  type AdminEntry,
} from './promo.js';
import { checkNamespaceEmpty, redisTargetOf, type DemoTarget } from './target.js';

export interface SaleSetup {
  promo: AdminEntry[];
  /** SKU → shard. */
  placement: Map<string, string>;
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
  const redis = (ctx.redis = await connectRedis(redisTargetOf(target)));
  await checkNamespaceEmpty(redis, target);
  await prepareDatabase(target);
  ctx.check();
  mkdirSync(files.dir, { recursive: true });
  const fleetSettings = await startDemoFleet(ctx, target, {
    log: files.log,
    shortLog: shortPath(files.log),
  });
  const placement = promoPlacement(ctx.o, target.shards);
  if (target.shards.length > 1) {
    // A SKU's shard is fixed by its first restock: every `place` must be applied before it
    // (replicas of the reserver take admin entries in parallel), so the places go first.
    await xaddMany(redis, target.keys.streams.admin, placeEntries(placement, stamp));
    await ctx.until(
      () => placementRecorded(redis, target, placement),
      'the reserver to place the SKUs on their shards',
      60_000,
    );
    ctx.io.out(`placed the SKUs: ${placementSummary(placement, target.shards)}`);
  }
  const promo = promoEntries(ctx.o, stamp);
  await armPromo(redis, target, promo);
  const o = ctx.o;
  ctx.io.out(
    `armed the promo on ${target.keys.streams.admin}: HOT-1 ${o.hotUnits} units (limit 2), WARM-1..${o.warmSkus} ${o.warmUnits} units each (limit 5)`,
  );
  await ctx.until(
    () => promoApplied(redis, target, promo, placement),
    'the reserver to apply the promo',
    60_000,
  );
  return { promo, placement, fleetSettings };
}

/** `a: HOT-1 + 16 warm · b: 17 warm · …` */
function placementSummary(placement: Map<string, string>, shards: string[]): string {
  return shards
    .map((shard) => {
      const skus = [...placement].filter(([, s]) => s === shard).map(([sku]) => sku);
      const hot = skus.filter((s) => !s.startsWith('WARM-'));
      const warm = skus.length - hot.length;
      return `${shard}: ${[...hot, ...(warm ? [`${warm} warm`] : [])].join(' + ') || 'none'}`;
    })
    .join(' · ');
}

/** The first lines: how many buyers, which servers, namespace, database, report directory. */
function announce(ctx: DemoContext, target: DemoTarget, files: ReportFiles): void {
  const { o, io } = ctx;
  const redis = target.clusterNodes
    ? `the Redis Cluster ${target.clusterNodes.join(',')}`
    : redactUrl(target.redisUrl);
  io.out(
    `holdfast demo: ${o.buyers.toLocaleString('en-US')} buyers against ${redis} and ${redactUrl(target.mysqlUrl)}`,
  );
  if (target.shards.length > 1)
    io.out(`  ${target.shards.length} shards: ${target.shards.join(', ')}`);
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
