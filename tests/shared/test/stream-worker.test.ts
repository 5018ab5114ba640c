/**
 * The consumer-group worker on real Redis: recovery of its own pending entries, takeover of a
 * dead consumer's entries, dead-lettering after a bounded number of deliveries, trimming that
 * never drops an unacked entry, removal of idle consumers, and a stop that finishes the batch.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Redis } from 'ioredis';
import { createRedis } from '@holdfast/shared';
import { StreamWorker, toFields, type EntryResult, type StreamEntry } from '@holdfast/shared';
import { isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';

let env: IsolatedEnv;
let redis: Redis;
const clients: Redis[] = [];
const log = pino({ level: 'silent' });

beforeAll(async () => {
  env = await isolatedEnv({ mysql: false });
  redis = createRedis(env.redisUrl, { name: 'test' });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  redis.disconnect();
  await env.cleanup();
});

function worker(
  stream: string,
  consumer: string,
  handle: (entries: StreamEntry[]) => Promise<EntryResult[]>,
  extra: Partial<ConstructorParameters<typeof StreamWorker>[0]> = {},
) {
  const blocking = createRedis(env.redisUrl, { name: 'test-block', blocking: true });
  clients.push(blocking);
  return new StreamWorker({
    redis,
    blocking,
    stream,
    group: 'g',
    consumer,
    deadStream: `${env.namespace}dead`,
    namespace: env.namespace,
    batchSize: 50,
    blockMs: 100,
    claimIdleMs: 300,
    maxDeliveries: 3,
    log,
    handle: (entries) => handle(entries),
    ...extra,
  });
}

const ack = async (entries: StreamEntry[]) => entries.map(() => ({ kind: 'ack' }) as const);

async function pending(stream: string): Promise<number> {
  return Number(((await redis.xpending(stream, 'g')) as [number])[0]);
}

it('takes back its own pending entries on restart, counting the delivery', async () => {
  const s = `${env.namespace}own`;
  await redis.xgroup('CREATE', s, 'g', '0', 'MKSTREAM');
  for (let i = 0; i < 5; i++) await redis.xadd(s, '*', 'n', String(i));
  // A previous life of consumer "stable" read them and died before acking.
  await redis.xreadgroup('GROUP', 'g', 'stable', 'COUNT', 10, 'STREAMS', s, '>');
  const seen: StreamEntry[] = [];
  const w = worker(s, 'stable', async (e) => (seen.push(...e), ack(e)), { claimIdleMs: 600_000 });
  await w.start();
  await waitFor(() => seen.length === 5);
  await w.stop();
  expect(seen.map((e) => toFields(e.fields).n)).toEqual(['0', '1', '2', '3', '4']);
  expect(seen.every((e) => e.deliveries === 2)).toBe(true);
  expect(await pending(s)).toBe(0);
});

it("claims a dead consumer's entries once they are idle", async () => {
  const s = `${env.namespace}claim`;
  await redis.xgroup('CREATE', s, 'g', '0', 'MKSTREAM');
  for (let i = 0; i < 3; i++) await redis.xadd(s, '*', 'n', String(i));
  await redis.xreadgroup('GROUP', 'g', 'dead-replica', 'COUNT', 10, 'STREAMS', s, '>');
  const seen: StreamEntry[] = [];
  const w = worker(s, 'live', async (e) => (seen.push(...e), ack(e)));
  await w.start();
  await waitFor(() => seen.length === 3);
  await w.stop();
  expect(await pending(s)).toBe(0);
});

it('dead-letters an entry that keeps failing after maxDeliveries, and the stream keeps flowing', async () => {
  const s = `${env.namespace}poison`;
  await redis.xgroup('CREATE', s, 'g', '0', 'MKSTREAM');
  const poisonId = await redis.xadd(s, '*', 'kind', 'poison', 'reason', 'collides');
  const good: string[] = [];
  const w = worker(s, 'w1', async (entries) =>
    entries.map((e) => {
      if (toFields(e.fields).kind === 'poison') return { kind: 'retry' } as const;
      good.push(e.id);
      return { kind: 'ack' } as const;
    }),
  );
  await w.start();
  for (let i = 0; i < 5; i++) await redis.xadd(s, '*', 'kind', 'fine');
  await waitFor(async () => (await redis.xlen(`${env.namespace}dead`)) > 0, {
    what: 'dead letter',
  });
  await w.stop();
  expect(good).toHaveLength(5);
  const dead = (await redis.xrange(`${env.namespace}dead`, '-', '+')) as Array<[string, string[]]>;
  expect(dead).toHaveLength(1);
  const f = toFields(dead[0]![1]);
  expect(f).toMatchObject({
    reason: 'max_deliveries',
    source_stream: s,
    source_id: poisonId,
    kind: 'poison',
  });
  expect(f['original.reason']).toBe('collides'); // a colliding original field is kept, renamed
  expect(Number(f.deliveries)).toBe(4);
  expect(await pending(s)).toBe(0);
});

it('trims only entries every group has acked', async () => {
  const s = `${env.namespace}trim`;
  await redis.xgroup('CREATE', s, 'g', '0', 'MKSTREAM');
  await redis.xgroup('CREATE', s, 'slow', '0');
  const ids: string[] = [];
  const p = redis.pipeline();
  for (let i = 0; i < 1000; i++) p.xadd(s, '*', 'n', String(i));
  for (const [, id] of (await p.exec())!) ids.push(id as string);
  // The slow group has read 600 and acked 500 of them. (Trimming is approximate — whole
  // stream nodes of 100 entries — so the test leaves room for several nodes to go.)
  const got = (await redis.xreadgroup(
    'GROUP',
    'slow',
    's1',
    'COUNT',
    600,
    'STREAMS',
    s,
    '>',
  )) as Array<[string, Array<[string, string[]]>]>;
  await redis.xack(s, 'slow', ...got[0]![1].slice(0, 500).map((e) => e[0]));
  const w = worker(s, 'w1', ack, { housekeepingMs: 50 });
  await w.start();
  await waitFor(async () => (await pending(s)) === 0 && (await redis.xlen(s)) < 1000, {
    what: 'a trim',
  });
  await w.runHousekeeping();
  await w.stop();
  const left = (await redis.xrange(s, '-', '+')) as Array<[string, string[]]>;
  // Everything from the slow group's oldest unacked entry on is still there.
  expect(left.map((e) => e[0])).toEqual(expect.arrayContaining(ids.slice(500)));
  expect(left.length).toBeLessThanOrEqual(600);
});

it('removes long-idle consumers that hold nothing, keeps those with pending entries', async () => {
  const s = `${env.namespace}idle`;
  await redis.xgroup('CREATE', s, 'g', '0', 'MKSTREAM');
  await redis.xadd(s, '*', 'n', '1');
  await redis.xgroup('CREATECONSUMER', s, 'g', 'gone-empty');
  await redis.xreadgroup('GROUP', 'g', 'gone-holding', 'COUNT', 1, 'STREAMS', s, '>');
  const names = async () =>
    ((await redis.xinfo('CONSUMERS', s, 'g')) as unknown[][]).map((c) => String(c[1]));
  await waitFor(async () => {
    const info = (await redis.xinfo('CONSUMERS', s, 'g')) as unknown[][];
    return info.every((c) => Number(c[5]) > 200); // idle ms
  });
  const w = worker(s, 'w1', async () => [], { consumerIdleMs: 200, claimIdleMs: 600_000 });
  await w.runHousekeeping();
  expect(await names()).toEqual(expect.arrayContaining(['gone-holding']));
  expect(await names()).not.toContain('gone-empty');
});

it('stop() finishes and acks the batch in hand', async () => {
  const s = `${env.namespace}stop`;
  await redis.xgroup('CREATE', s, 'g', '0', 'MKSTREAM');
  for (let i = 0; i < 20; i++) await redis.xadd(s, '*', 'n', String(i));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let inHand = 0;
  const w = worker(s, 'w1', async (e) => {
    inHand = e.length;
    await gate;
    return ack(e);
  });
  await w.start();
  await waitFor(() => inHand > 0);
  const stopped = w.stop();
  release();
  await stopped;
  expect(await pending(s)).toBe(0);
});

it('re-creates its group when the stream vanished (a Redis restarted without its data)', async () => {
  const s = `${env.namespace}vanish`;
  const seen: string[] = [];
  const w = worker(
    s,
    'w1',
    async (e) => (seen.push(...e.map((x) => toFields(x.fields).n!)), ack(e)),
  );
  await w.start();
  await redis.xadd(s, '*', 'n', 'before');
  await waitFor(() => seen.includes('before'));
  await redis.del(s); // stream and group gone
  await redis.xadd(s, '*', 'n', 'after'); // a producer writes again (no group on the new stream)
  await waitFor(() => seen.includes('after'), { what: 'the entry written after the loss' });
  await w.stop();
});
