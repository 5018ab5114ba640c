/** Reading and filling whole streams, and how far their consumer groups are behind. */
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { toFields, toObject } from '../stream-worker.js';

export type Fields = Record<string, string>;

/** Every entry of a stream, oldest first, read in pages. */
export async function readStream(
  redis: Redis,
  stream: string,
): Promise<Array<{ id: string } & Fields>> {
  const out: Array<{ id: string } & Fields> = [];
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(stream, start, '+', 'COUNT', 5000)) as Array<
      [string, string[]]
    >;
    for (const [id, f] of page) out.push({ id, ...toFields(f) });
    if (page.length < 5000) return out;
    start = `(${page[page.length - 1]![0]}`;
  }
}

/** XADDs many entries in pipelined chunks; returns their ids. */
export async function xaddMany(redis: Redis, stream: string, entries: Fields[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < entries.length; i += 1000) {
    const p = redis.pipeline();
    for (const e of entries.slice(i, i + 1000)) p.xadd(stream, '*', ...Object.entries(e).flat());
    const res = (await p.exec()) ?? [];
    for (const [err, id] of res) {
      if (err) throw err;
      ids.push(id as string);
    }
  }
  return ids;
}

export interface GroupBacklog {
  name: string;
  /** Delivered to a consumer, not acknowledged yet. */
  pending: number;
  /** Not delivered yet (XINFO's `lag`; counted 0 when Redis cannot tell). */
  lag: number;
}

/** Pending and undelivered entries of every consumer group of a stream (XINFO GROUPS). */
export async function groupBacklogs(redis: Redis, stream: string): Promise<GroupBacklog[]> {
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  return groups.map((g) => {
    const info = toObject(g);
    return {
      name: String(info.name),
      pending: Number(info.pending ?? 0),
      lag: Number(info.lag ?? 0),
    };
  });
}

/** Group pending + lag of a stream's groups (0 when drained, or when there is no stream). */
export async function backlog(redis: Redis, stream: string): Promise<number> {
  const groups = await groupBacklogs(redis, stream).catch(() => []);
  return groups.reduce((n, g) => n + g.pending + g.lag, 0);
}

/** Pending + lag of one group of a stream (0 when the stream or the group does not exist). */
export async function groupBacklog(redis: Redis, stream: string, group: string): Promise<number> {
  const g = (await groupBacklogs(redis, stream).catch(() => [])).find((x) => x.name === group);
  return g ? g.pending + g.lag : 0;
}

/**
 * Every stream of the pipeline drained: nothing pending, nothing undelivered — the public
 * streams and every shard's inbound, outbox (carts across shards) and ledger streams.
 */
export async function drained(redis: Redis, keys: Keys): Promise<boolean> {
  const streams = [keys.streams.events, keys.streams.admin];
  for (const shard of keys.allShards) {
    const sk = keys.shard(shard);
    streams.push(sk.inbound, sk.outbox, sk.ledger);
  }
  for (const s of streams) if ((await backlog(redis, s)) > 0) return false;
  return true;
}
