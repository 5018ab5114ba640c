/**
 * Per-group figures of a stream (@holdfast/shared/inspect's `backlog` sums every group; the
 * demo needs one group at a time: checkout:events also carries the demo's own tap group).
 */
import { toObject, type Redis } from '@holdfast/shared';

/** Pending and undelivered (lag) entries of one group; undefined when there is no such group. */
export async function groupInfo(
  redis: Redis,
  stream: string,
  group: string,
): Promise<{ pending: number; lag: number } | undefined> {
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  for (const g of groups) {
    const info = toObject(g);
    if (info.name === group)
      return { pending: Number(info.pending ?? 0), lag: Number(info.lag || 0) };
  }
  return undefined;
}

/** Lag + pending of one group of a stream (0 when the stream or group does not exist yet). */
export async function groupBacklog(redis: Redis, stream: string, group: string): Promise<number> {
  const g = await groupInfo(redis, stream, group).catch(() => undefined);
  return g ? g.pending + g.lag : 0;
}

/** Entries ever added to a stream (trimming does not lower it; 0 when it does not exist). */
export async function entriesAdded(redis: Redis, stream: string): Promise<number> {
  const info = (await redis.xinfo('STREAM', stream).catch(() => null)) as unknown[] | null;
  if (!info) return 0;
  const added = toObject(info)['entries-added'];
  return added === undefined ? Number(await redis.xlen(stream)) : Number(added);
}

/** The ms part of a stream entry id: when Redis accepted the XADD. */
export const idMs = (id: string) => Number(id.slice(0, id.indexOf('-')));

export type XReadReply = Array<[string, Array<[string, string[] | null]>]> | null;
