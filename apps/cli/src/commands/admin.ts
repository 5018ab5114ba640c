/**
 * `holdfast restock`, `holdfast limit` and `holdfast place`: XADD an admin entry to
 * inventory:admin and, by default, wait until the reserver applied it (its admin dedupe key
 * turns 'd'; for a place, the SKU's entry in holdfast:placement appears).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { Placement, readStock, validateAdminEvent } from '@holdfast/shared';
import type { Context } from '@holdfast/shared/tools';
import { CliError, EXIT, usageError } from '@holdfast/shared/tools';

export interface AdminOptions {
  eventId?: string;
  /** Wait for the reserver (default true). */
  wait?: boolean;
  /** Seconds to wait (default 10). */
  timeout?: number;
}

type AdminFields = { type: 'restock'; qty: string } | { type: 'set_limit'; per_user: string };

/**
 * `holdfast place SKU SHARD` (contract v2): places a SKU that does not exist yet on a shard.
 * Refused here when the shard is not configured, or the SKU already lives elsewhere; a repeat
 * of an applied place is a no-op.
 */
export async function sendPlace(
  ctx: Context,
  sku: string,
  shard: string,
  opts: AdminOptions,
  out: (line: string) => void,
): Promise<number> {
  const eventId = opts.eventId ?? randomUUID();
  const fields = ['type', 'place', 'event_id', eventId, 'sku', sku, 'shard', shard];
  const valid = validateAdminEvent(fields);
  if (!valid.ok) throw usageError(valid.detail);
  const keys = ctx.keys;
  if (!keys.hasShard(shard)) {
    throw usageError(`shard ${shard} is not one of HOLDFAST_SHARDS (${keys.allShards.join(', ')})`);
  }
  const redis = await ctx.redis();
  const placed = async () => (await redis.hget(keys.streams.placement, sku)) ?? undefined;
  const before = await placed();
  if (before === shard) {
    out(`place ${sku} on ${shard}: already placed there; nothing sent`);
    return EXIT.ok;
  }
  if (before !== undefined) throw new CliError(`SKU ${sku} already lives on shard ${before}`);
  const entryId = await redis.xadd(keys.streams.admin, '*', ...fields);
  out(
    `sent place ${sku} on ${shard} (event_id ${eventId}, entry ${entryId} on ${keys.streams.admin})`,
  );
  if (opts.wait === false) return EXIT.ok;
  const timeoutS = opts.timeout ?? 10;
  const deadline = Date.now() + timeoutS * 1000;
  let now: string | undefined;
  while ((now = await placed()) === undefined) {
    if (Date.now() >= deadline) {
      throw new CliError(
        `place ${sku} was not applied within ${timeoutS}s: no reserver seems to be running ` +
          `(the entry stays on ${keys.streams.admin} and is applied when a reserver starts)`,
      );
    }
    await sleep(50);
  }
  if (now !== shard) throw new CliError(`SKU ${sku} was created on shard ${now} first`);
  out(`applied: ${sku} lives on shard ${shard}`);
  return EXIT.ok;
}

export async function sendAdmin(
  ctx: Context,
  sku: string,
  what: AdminFields,
  opts: AdminOptions,
  out: (line: string) => void,
): Promise<number> {
  const eventId = opts.eventId ?? randomUUID();
  const fields =
    what.type === 'restock'
      ? ['type', 'restock', 'event_id', eventId, 'sku', sku, 'qty', what.qty]
      : ['type', 'set_limit', 'event_id', eventId, 'sku', sku, 'per_user', what.per_user];
  // The reserver would dead-letter an invalid entry: refuse it here instead, as a usage error.
  const valid = validateAdminEvent(fields);
  if (!valid.ok) throw usageError(valid.detail);

  const redis = await ctx.redis();
  const keys = ctx.keys;
  // The reserver applies it on the SKU's shard (a new SKU: where the placement function puts it).
  const dedupe = keys.shard(await new Placement(redis, keys).shardOf(sku)).adminEvent(eventId);
  const label =
    what.type === 'restock'
      ? `restock ${sku} +${what.qty}`
      : `limit ${sku} per_user=${what.per_user}`;

  if ((await redis.get(dedupe)) === 'd') {
    out(`${label}: event_id ${eventId} was already applied; nothing sent`);
    return EXIT.ok;
  }
  const entryId = await redis.xadd(keys.streams.admin, '*', ...fields);
  out(`sent ${label} (event_id ${eventId}, entry ${entryId} on ${keys.streams.admin})`);
  if (opts.wait === false) return EXIT.ok;

  const timeoutS = opts.timeout ?? 10;
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    if ((await redis.get(dedupe)) === 'd') break;
    if (Date.now() >= deadline) {
      throw new CliError(
        `${label} was not applied within ${timeoutS}s: no reserver seems to be running ` +
          `(the entry stays on ${keys.streams.admin} and is applied when a reserver starts)`,
      );
    }
    await sleep(50);
  }
  const s = await readStock(redis, keys, sku);
  const now = s
    ? what.type === 'restock'
      ? `total ${s.total}, available ${s.available}, held ${s.held}, sold ${s.sold}`
      : `per_user limit ${s.perUser || 'none'}`
    : 'SKU not found';
  out(`applied: ${sku} now ${now}`);
  return EXIT.ok;
}
