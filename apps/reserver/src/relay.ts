/**
 * The relay of a cart across shards (includes/saga.lua): copies each message a shard's decision
 * queued in its outbox (`S out`, one entry per message: `to` = target shard, `m` = payload) to the
 * target shard's inbound stream, then acks it. At least once: a crash between the copy and the
 * ack copies it again, and every receiver is idempotent by the part's state. One pipeline per
 * target shard, since a pipeline on Redis Cluster stays within one slot.
 */
import {
  INTERNAL_EVENT_FIELD,
  toFields,
  type EntryResult,
  type Keys,
  type Logger,
  type Redis,
  type StreamEntry,
} from '@holdfast/shared';

export async function relayOutbox(
  redis: Redis,
  keys: Keys,
  entries: StreamEntry[],
  log: Logger,
): Promise<EntryResult[]> {
  const results: EntryResult[] = new Array(entries.length);
  const byShard = new Map<string, Array<{ index: number; payload: string }>>();
  entries.forEach((e, index) => {
    const f = toFields(e.fields);
    const to = f.to;
    const payload = f.m;
    if (!to || !payload || !keys.hasShard(to)) {
      results[index] = {
        kind: 'dead',
        reason: 'bad_outbox_entry',
        detail:
          to && !keys.hasShard(to) ? `shard ${to} is not in HOLDFAST_SHARDS` : 'needs to and m',
      };
      return;
    }
    const list = byShard.get(to) ?? [];
    list.push({ index, payload });
    byShard.set(to, list);
  });
  await Promise.all(
    [...byShard].map(async ([shard, items]) => {
      const p = redis.pipeline();
      const inbound = keys.shard(shard).inbound;
      for (const { payload } of items) p.xadd(inbound, '*', INTERNAL_EVENT_FIELD, payload);
      const res = await p.exec().catch((err: Error) => items.map(() => [err, null] as const));
      items.forEach(({ index }, i) => {
        const err = res?.[i]?.[0];
        if (err) {
          log.warn({ err, shard }, 'relay to shard failed; will be retried');
          results[index] = { kind: 'retry' };
        } else {
          results[index] = { kind: 'ack' };
        }
      });
    }),
  );
  return results;
}
