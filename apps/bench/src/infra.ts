/**
 * Where a run lives: a fresh Redis namespace or MySQL database per run, random ids for their
 * names, the Redis server clock and how far a consumer group is behind.
 */
import { randomBytes } from 'node:crypto';
import { Keys, parseEnv, toObject, type Redis } from '@holdfast/shared';
import { createDatabase, dropDatabase } from '@holdfast/shared/mysql';
import { gateConfig, reserverEnv } from '@holdfast/reserver';

/** Random hex for the names of a run's namespace and databases. */
export function randomId(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

/** The reserver's own gate configuration, with its defaults (C runs exactly what A runs). */
export function defaultGateConfig() {
  return gateConfig(parseEnv(reserverEnv, {}));
}

/** A new database for one run (one left by an earlier run of the same name dropped first). */
export async function freshDatabase(serverUrl: string, db: string): Promise<string> {
  await dropDatabase(serverUrl, db);
  return createDatabase(serverUrl, db);
}

/**
 * A fresh namespace (and its Keys, on `shards`) for one run; `deleteNamespace` (@holdfast/shared)
 * drops it.
 */
export function freshNamespace(
  tag: string,
  shards: readonly string[] = ['main'],
): { namespace: string; keys: Keys } {
  const namespace = `bench-${tag}-${randomId()}:`;
  return { namespace, keys: new Keys(namespace, shards) };
}

/** Redis server clock in ms (the clock of stream ids and of the Lua scripts' `at`). */
export async function redisNowMs(r: Redis): Promise<number> {
  const [s, us] = await r.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/**
 * A stream is drained for a group when the group has nothing pending and was delivered the
 * stream's last entry (not relying on XINFO's `lag`, which Redis leaves empty after trims).
 * Returns the number of entries still to do (pending + undelivered estimate), 0 when drained.
 */
export async function groupBacklog(r: Redis, stream: string, group: string): Promise<number> {
  const info = toObject((await r.xinfo('STREAM', stream).catch(() => [])) as unknown[]);
  const lastId = String(info['last-generated-id'] ?? '0-0');
  const groups = (await r.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  for (const g of groups) {
    const gi = toObject(g);
    if (gi.name !== group) continue;
    const pending = Number(gi.pending ?? 0);
    const delivered = String(gi['last-delivered-id'] ?? '0-0');
    const lag = gi.lag === null || gi.lag === undefined ? null : Number(gi.lag);
    if (delivered === lastId) return pending;
    return pending + Math.max(1, lag ?? 1);
  }
  // No group yet: everything in the stream is still to do.
  return Number(info.length ?? 0);
}
