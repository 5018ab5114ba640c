/**
 * Stream figures of the demo's own: entries ever added, and entry-id times. (Per-group backlogs
 * come from @holdfast/shared/inspect: checkout:events also carries the demo's own tap group, so
 * the demo reads one group at a time.)
 */
import { toObject, type Redis } from '@holdfast/shared';

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
