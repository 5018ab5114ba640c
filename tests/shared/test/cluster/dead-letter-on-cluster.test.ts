/**
 * Dead-lettering of the stream worker on a real Redis Cluster (3 primaries on loopback, started
 * by the test kit), with a source stream whose slot is on another primary than the dead
 * stream's: a dead letter and its ack can't share a MULTI there (CROSSSLOT), so the worker writes
 * the dead letters with the deadLetter script (marker in the dead stream's slot) and then acks.
 * Each bad entry gets exactly one dead letter, the good ones are acked, nothing stays pending —
 * also when the process died between the dead letter and the ack (the entry comes back, its
 * dead letter is not written again).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Redis } from 'ioredis';
import { pino } from 'pino';
import {
  StreamWorker,
  deadLetterFields,
  deadSeenKey,
  prom,
  registerScripts,
  toFields,
  workerMetrics,
  writeDeadLetters,
  type EntryResult,
  type StreamEntry,
} from '@holdfast/shared';
import {
  randomId,
  startRedisCluster,
  stopRedisClusters,
  waitFor,
  type RedisCluster,
} from '@holdfast/testkit';

let cluster: RedisCluster;
const clients: Cluster[] = [];
/** The worker takes a Redis; a Cluster client offers the same commands and scripts. */
let redis: Redis;
const ns = `t${randomId()}:`;
const dead = `${ns}checkout:dead`;
/** A shard whose inbound stream's slot is on another primary than the dead stream's. */
let shard = '';
const log = pino({ level: 'silent' });

function clusterClient(name: string): Redis {
  const c = new Cluster(cluster.startupNodes, { redisOptions: { connectionName: name } });
  clients.push(c);
  return registerScripts(c as unknown as Redis);
}

beforeAll(async () => {
  cluster = await startRedisCluster({ replicasPerPrimary: 0 });
  redis = clusterClient('hf-test');
  const deadNode = await cluster.primaryFor(dead);
  for (let i = 0; !shard && i < 1000; i++) {
    const node = await cluster.primaryFor(`${ns}hf:{s${i}}:in`);
    if (node.port !== deadNode.port) shard = `s${i}`;
  }
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await stopRedisClusters();
});

/** A fresh source stream of the shard (its own name, same slot as the shard's keys). */
const sourceStream = (name: string) => `${ns}hf:{${shard}}:${name}`;

function worker(
  stream: string,
  consumer: string,
  handle: (entries: StreamEntry[]) => Promise<EntryResult[]>,
) {
  const metrics = workerMetrics(new prom.Registry());
  const w = new StreamWorker({
    redis,
    // A blocking XREADGROUP on the shared Cluster client would stall its other commands to
    // that node: the worker gets a client of its own.
    blocking: clusterClient('hf-test-block'),
    stream,
    group: 'g',
    consumer,
    deadStream: dead,
    namespace: ns,
    batchSize: 50,
    blockMs: 100,
    claimIdleMs: 60_000,
    maxDeliveries: 5,
    log,
    metrics,
    handle: (entries) => handle(entries),
  });
  return { w, metrics };
}

/** Dead for entries with a `bad` field, ack for the rest. */
function judge(seen: StreamEntry[]) {
  return async (entries: StreamEntry[]): Promise<EntryResult[]> => {
    seen.push(...entries);
    return entries.map((e) =>
      toFields(e.fields).bad
        ? { kind: 'dead', reason: 'invalid_field', detail: `bad ${toFields(e.fields).n}` }
        : { kind: 'ack' },
    );
  };
}

async function pending(stream: string): Promise<number> {
  return Number(((await redis.xpending(stream, 'g')) as [number])[0]);
}

async function deadLettersOf(stream: string): Promise<Array<Record<string, string>>> {
  const all = (await redis.xrange(dead, '-', '+')) as Array<[string, string[]]>;
  return all.map(([, f]) => toFields(f)).filter((d) => d.source_stream === stream);
}

async function deadLetterCount(metrics: ReturnType<typeof workerMetrics>): Promise<number> {
  return (await metrics.deadLetters.get()).values.reduce((a, v) => a + v.value, 0);
}

describe('dead letters on a real Redis Cluster', () => {
  it('has the source stream and the dead stream on different primaries: one MULTI is refused', async () => {
    expect(shard).not.toBe('');
    const source = sourceStream('multi');
    expect((await cluster.primaryFor(source)).port).not.toBe((await cluster.primaryFor(dead)).port);
    // What the worker used to send.
    const err = await redis
      .multi()
      .xadd(dead, '*', 'reason', 'x')
      .xack(source, 'g', '1-0')
      .exec()
      .catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    // ioredis refuses it before sending (Redis would answer CROSSSLOT).
    expect((err as Error).message).toMatch(/same slot|CROSSSLOT/);
    expect(await redis.exists(dead)).toBe(0);
  });

  it('writes exactly one dead letter per bad entry, acks the good ones, leaves nothing pending', async () => {
    const source = sourceStream('in');
    const bad = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const id = await redis.xadd(
        source,
        '*',
        'n',
        String(i),
        ...(i % 3 === 0 ? ['bad', '1'] : []),
      );
      if (i % 3 === 0) bad.add(id!);
    }
    const seen: StreamEntry[] = [];
    const { w, metrics } = worker(source, 'w1', judge(seen));
    await w.start();
    try {
      await waitFor(
        async () =>
          seen.length >= 30 &&
          (await pending(source)) === 0 &&
          (await redis.xlen(dead)) >= bad.size,
        { timeoutMs: 20_000, what: 'every entry handled, acked and dead-lettered' },
      );
    } finally {
      await w.stop();
    }
    const letters = await deadLettersOf(source);
    expect(letters.map((d) => d.source_id).sort()).toEqual([...bad].sort());
    expect(letters.every((d) => d.reason === 'invalid_field' && d.bad === '1')).toBe(true);
    expect(seen).toHaveLength(30); // each entry handled once: nothing came back
    expect(await pending(source)).toBe(0);
    expect(await deadLetterCount(metrics)).toBe(bad.size);
    // Each dead letter has its marker, in the dead stream's slot.
    const slot = await redis.cluster('KEYSLOT', dead);
    for (const id of bad) {
      const marker = deadSeenKey(ns, dead, source, id);
      expect(await redis.exists(marker)).toBe(1);
      expect(await redis.cluster('KEYSLOT', marker)).toBe(slot);
    }
  });

  it('a crash between the dead letter and the ack writes no second dead letter', async () => {
    const source = sourceStream('crash');
    await redis.xgroup('CREATE', source, 'g', '0', 'MKSTREAM');
    const badId = (await redis.xadd(source, '*', 'n', 'b', 'bad', '1'))!;
    const goodId = (await redis.xadd(source, '*', 'n', 'g'))!;
    // A previous life of consumer "stable" read both, dead-lettered the bad one — and died
    // before its XACK.
    const read = (await redis.xreadgroup(
      'GROUP',
      'g',
      'stable',
      'COUNT',
      10,
      'STREAMS',
      source,
      '>',
    )) as Array<[string, Array<[string, string[]]>]>;
    const [, entries] = read[0]!;
    const [, badFields] = entries.find(([id]) => id === badId)!;
    const first = deadLetterFields(
      source,
      { id: badId, fields: badFields, deliveries: 1 },
      'invalid_field',
      'bad b',
    );
    expect(
      await writeDeadLetters(redis, { namespace: ns, deadStream: dead }, [
        { sourceStream: source, entryId: badId, fields: first },
      ]),
    ).toEqual([true]);
    expect(await pending(source)).toBe(2);

    // The restart takes its own pending entries back and judges the bad one dead again.
    const seen: StreamEntry[] = [];
    const { w, metrics } = worker(source, 'stable', judge(seen));
    await w.start();
    try {
      await waitFor(async () => seen.length >= 2 && (await pending(source)) === 0, {
        timeoutMs: 20_000,
        what: 'both entries handled again and acked',
      });
    } finally {
      await w.stop();
    }
    expect(seen.map((e) => [e.id, e.deliveries])).toEqual([
      [badId, 2],
      [goodId, 2],
    ]);
    const letters = await deadLettersOf(source);
    // Exactly one: the one written before the crash (first delivery).
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ source_id: badId, deliveries: '1', n: 'b' });
    expect(await deadLetterCount(metrics)).toBe(0);
    expect(await pending(source)).toBe(0);
  });
});
