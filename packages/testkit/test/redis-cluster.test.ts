/**
 * startRedisCluster against real processes: 3 primaries + 3 replicas on loopback, keys on
 * every primary through an ioredis Cluster client, what Redis 7.0 does with the keys a script
 * touches, a SIGKILLed primary's replica taking over with the acknowledged writes, and a stop
 * that leaves no process and no directory behind.
 */
import { existsSync } from 'node:fs';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRedisCluster, stopRedisClusters, waitFor, type RedisCluster } from '../src/index.js';

/** Redis 7.0's message for a `#!lua` script touching an undeclared key of another slot. */
const CROSS_SLOT = 'Script attempted to access keys that do not hash to the same slot';
/** … and for any script touching a key another node serves. */
const NON_LOCAL = 'Script attempted to access a non local key in a cluster node';

describe.sequential('startRedisCluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  /** One key per primary: key → the primary's port when written. */
  const keys = new Map<string, number>();

  beforeAll(async () => {
    const t0 = Date.now();
    cluster = await startRedisCluster({ nodeTimeoutMs: 2000 });
    console.log(`cluster of ${cluster.nodes.length} nodes started in ${Date.now() - t0} ms`);
    client = new Cluster(cluster.startupNodes);
  });

  afterAll(async () => {
    client?.disconnect();
    await stopRedisClusters();
  });

  test('six nodes on loopback, each answering, named for REDIS_CLUSTER_NODES', () => {
    expect(cluster.nodes).toHaveLength(6);
    expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(6);
    expect(cluster.nodesEnv).toBe(cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(','));
    expect(cluster.startupNodes).toEqual(
      cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
    );
    for (const n of cluster.nodes) expect(existsSync(`${n.dir}/nodes.conf`)).toBe(true);
  });

  test('keys land on all three primaries through a Cluster client', async () => {
    for (let i = 0; keys.size < 3 || new Set(keys.values()).size < 3; i++) {
      expect(i, 'found no key for one of the primaries').toBeLessThan(200);
      const key = `k:${i}`;
      const primary = (await cluster.primaryFor(key)).port;
      if (![...keys.values()].includes(primary)) keys.set(key, primary);
    }
    for (const key of keys.keys()) await client.set(key, `v-${key}`);
    for (const key of keys.keys()) expect(await client.get(key)).toBe(`v-${key}`);
    expect(new Set(keys.values()).size).toBe(3);
    // Every write reached a replica before the failover test kills a primary.
    for (const primary of client.nodes('master')) {
      expect(Number(await primary.call('WAIT', 1, 1000))).toBeGreaterThanOrEqual(1);
    }
  });

  test('#!lua: keys of one hash tag work; an undeclared key of another slot fails', async () => {
    const declared = '{tag}:a';
    const home = (await cluster.primaryFor(declared)).port;
    // An undeclared key on the same node in another slot, and one on another node.
    let sameNode = '';
    let otherNode = '';
    for (let i = 0; !sameNode || !otherNode; i++) {
      expect(i, 'found no keys for the cross-slot cases').toBeLessThan(500);
      const key = `other:${i}`;
      if ((await cluster.primaryFor(key)).port === home) sameNode ||= key;
      else otherNode ||= key;
    }
    const both = `#!lua
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[1])
return redis.call('GET', KEYS[2])`;
    expect(await client.eval(both, 2, '{tag}:a', '{tag}:b', 'x')).toBe('x');

    // An undeclared key of the declared tag is not refused: Redis does not check declarations.
    const undeclaredSameTag = `#!lua
return redis.call('SET', '{tag}:c', ARGV[1])`;
    expect(await client.eval(undeclaredSameTag, 1, declared, 'y')).toBe('OK');

    const touch = (key: string) => `redis.call('SET', KEYS[1], ARGV[1])
return redis.call('GET', '${key}')`;
    const errorOf = (script: string) =>
      client.eval(script, 1, declared, 'z').then(
        (v) => `no error: ${JSON.stringify(v)}`,
        (err: Error) => err.message,
      );
    const messages = {
      shebangSameNode: await errorOf(`#!lua\n${touch(sameNode)}`),
      shebangOtherNode: await errorOf(`#!lua\n${touch(otherNode)}`),
      plainSameNode: await errorOf(touch(sameNode)),
      plainOtherNode: await errorOf(touch(otherNode)),
    };
    console.log(JSON.stringify(messages, null, 2));
    // The whole reply: `ERR <reason> script: <sha1 of the body>, on @user_script:<line>.`
    const reply = (reason: string, line: number) =>
      new RegExp(`^ERR ${reason} script: [0-9a-f]{40}, on @user_script:${line}\\.$`);
    expect(messages.shebangSameNode).toMatch(reply(CROSS_SLOT, 3));
    expect(messages.shebangOtherNode).toMatch(reply(NON_LOCAL, 3));
    // Without the shebang Redis 7.0 keeps the old, lax behaviour: another slot on the same node is
    // allowed (the script is flagged allow-cross-slot-keys); only another node's key fails.
    expect(messages.plainSameNode).toBe('no error: null');
    expect(messages.plainOtherNode).toMatch(reply(NON_LOCAL, 2));
  });

  test('SIGKILL a primary: its replica takes over with the acknowledged writes', async () => {
    const [key, port] = [...keys][0]!;
    const victim = cluster.nodes.find((n) => n.port === port)!;
    await cluster.killNode(port, 'SIGKILL');
    expect(() => process.kill(victim.pid, 0)).toThrow();
    const { primary, elapsedMs } = await cluster.waitForFailover(port, 20_000);
    console.log(`failover of ${port} to ${primary.port} took ${elapsedMs} ms after SIGKILL`);
    expect(primary.port).not.toBe(port);
    expect((await cluster.primaryFor(key)).port).toBe(primary.port);
    // The client that knew the old topology finds the new primary (MOVED / slot refresh).
    for (const k of keys.keys()) {
      const value = await waitFor(() => client.get(k), {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: `${k} to be readable after the failover`,
      });
      expect(value).toBe(`v-${k}`);
    }
  });

  test('stop() ends every node and removes the temp dir, and may be called twice', async () => {
    const t0 = Date.now();
    await cluster.stop();
    console.log(`cluster stopped in ${Date.now() - t0} ms`);
    await cluster.stop();
    for (const n of cluster.nodes) {
      expect(() => process.kill(n.pid, 0), `redis-server ${n.port} (pid ${n.pid})`).toThrow(
        expect.objectContaining({ code: 'ESRCH' }),
      );
    }
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
