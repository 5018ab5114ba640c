/**
 * The gate on a real Redis Cluster (3 primaries + 3 replicas on loopback, started by the test
 * kit): three shards whose hash tags live on three different primaries each decide reserves,
 * confirms, expiries and a whole batch through an ioredis `Cluster` client, and each outcome
 * lands in its own shard's stream, `checkout:outcomes:{<shard>}`, naming the shard — the
 * decision and its outcome are one atomic call in one slot. The version-1 layout (one outcome
 * stream without a hash tag) is refused by the cluster (CROSSSLOT) and changes nothing. (That
 * Redis also refuses a key a #!lua script builds outside its slot is shown by the test kit's
 * redis-cluster test.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Redis } from 'ioredis';
import { Gate, Keys, loadScripts, registerScripts, type CheckoutCommand } from '@holdfast/shared';
import {
  randomId,
  startRedisCluster,
  stopRedisClusters,
  type RedisCluster,
} from '@holdfast/testkit';
import { CFG, T0, confirm, reserve, restock } from '@holdfast/testkit/gate';

let cluster: RedisCluster;
let client: Cluster;
/** The gate takes a Redis; a Cluster client offers the same commands and scripts. */
let redis: Redis;
const ns = `t${randomId()}:`;
/** Three shard names whose slots sit on three different primaries. */
const shards: string[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster(cluster.startupNodes, { redisOptions: { connectionName: 'hf-test' } });
  redis = registerScripts(client as unknown as Redis);
  const byPrimary = new Map<number, string>();
  for (let i = 0; byPrimary.size < 3 && i < 1000; i++) {
    const shard = `s${i}`;
    const node = await cluster.primaryFor(new Keys(ns, shard).shard().prefix);
    if (!byPrimary.has(node.port)) byPrimary.set(node.port, shard);
  }
  shards.push(...byPrimary.values());
}, 120_000);

afterAll(async () => {
  client?.disconnect();
  await stopRedisClusters();
});

async function outcomes(stream: string): Promise<Array<Record<string, string>>> {
  const entries = await client.xrange(stream, '-', '+');
  return entries.map(([, f]) => {
    const o: Record<string, string> = {};
    for (let i = 0; i < f.length; i += 2) o[f[i]!] = f[i + 1]!;
    return o;
  });
}

describe('the gate on a real Redis Cluster', () => {
  it('decides on three shards on three primaries, each outcome in its shard’s stream', async () => {
    expect(shards).toHaveLength(3);
    for (const shard of shards) {
      const keys = new Keys(ns, shard);
      const gate = new Gate(keys, CFG);
      expect(await gate.admin(redis, restock(`r-${shard}`, 'A', 3), T0)).toBe('restocked');
      expect((await gate.decide(redis, reserve('e1', 'c1', 'u1', [['A', 2]]), T0)).status).toBe(
        'reserved',
      );
      expect((await gate.decide(redis, reserve('e2', 'c2', 'u2', [['A', 2]]), T0)).reason).toBe(
        'out_of_stock',
      );
      expect((await gate.decide(redis, confirm('e3', 'c1'), T0 + 1)).status).toBe('confirmed');
      // A batch in one call, and an expiry.
      const batch: CheckoutCommand[] = [
        reserve('e4', 'c4', 'u4', [['A', 1]], 10),
        reserve('e5', 'c5', 'u5', [['A', 1]]),
      ];
      const decided = await gate.decideMany(redis, batch, T0 + 2);
      expect(decided.map((d) => (d instanceof Error ? d.message : d.status))).toEqual([
        'reserved',
        'rejected',
      ]);
      expect(await gate.expireDue(redis, 100, T0 + 3_600_000)).toBe(1);

      const sk = keys.shard();
      const got = await outcomes(sk.outcomes);
      expect(got.map((o) => [o.event_id, o.status, o.shard])).toEqual([
        ['e1', 'reserved', shard],
        ['e2', 'rejected', shard],
        ['e3', 'confirmed', shard],
        ['e4', 'reserved', shard],
        ['e5', 'rejected', shard],
        [expect.stringMatching(/^expired:c4:/), 'expired', shard],
      ]);
      expect(await client.hgetall(sk.stock('A'))).toMatchObject({
        total: '3',
        available: '1',
        held: '0',
        sold: '2',
      });
    }
  });

  it('refuses the version-1 layout (an outcome stream outside the shard’s slot) and changes nothing', async () => {
    const keys = new Keys(ns, shards[0]!);
    const sk = keys.shard();
    // Version 1's untagged stream name, unless it happens to hash to the shard's own slot.
    const shardSlot = await client.cluster('KEYSLOT', sk.prefix);
    let v1Stream = `${ns}checkout:outcomes`;
    for (let i = 0; (await client.cluster('KEYSLOT', v1Stream)) === shardSlot; i++)
      v1Stream = `${ns}checkout:outcomes${i}`;
    const reserveScript = loadScripts().get('reserve')!;
    const before = await client.hgetall(sk.stock('A'));
    const err = await client
      .eval(
        reserveScript.lua,
        6,
        sk.event('v1'),
        sk.hold('v1'),
        sk.holdsDue,
        v1Stream,
        sk.ledger,
        sk.prefix,
        String(T0),
        'v1',
        'v1',
        CFG.dedupeTtlSeconds,
        0,
        'u',
        JSON.stringify([['A', 1]]),
        '',
        CFG.holdMaxTotalSeconds * 1000,
        CFG.holdDefaultSeconds,
        CFG.holdMinSeconds,
        CFG.holdMaxSeconds,
      )
      .catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    // Declared keys of two slots: the cluster refuses the call before the script runs.
    expect((err as Error).message).toMatch(/CROSSSLOT/);
    expect(await client.exists(sk.event('v1'), sk.hold('v1'))).toBe(0);
    expect(await client.hgetall(sk.stock('A'))).toEqual(before);
  });
});
