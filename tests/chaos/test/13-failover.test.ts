/**
 * 13. A Redis node failure (contract invariant 7): the fleet on three shards of a real local
 * Redis Cluster (3 primaries + 3 replicas) under steady load — reserves, confirms and cancels on
 * three SKUs per shard — loses the primary of one shard's hash tag (SIGKILL of its redis-server)
 * and its replica is promoted.
 *
 * The loss is made deterministic: just before the kill, the replica is frozen (SIGSTOP) and the
 * primary drops its replication link (CLIENT KILL TYPE replica), so what the fleet writes on
 * that shard in the following second reaches the primary only — decisions, outcomes, ledger
 * entries, ingest's forwards. (A frozen replica alone loses nothing: the kernel keeps what the
 * primary sent in the socket, and the replica reads it on SIGCONT.) The replica is frozen for
 * less than the node timeout, so the cluster still counts it as a replica that can be promoted.
 *
 * Run twice: without REDIS_WAIT_REPLICAS, and with 1. Either way no SKU is oversold in Redis or
 * MySQL at any sample, the final outcome streams hold at most one outcome per event, the
 * reconciler reports the variance and `holdfast reconcile --once --compensate --yes` brings it
 * to 0, and then MySQL equals Redis. With the setting the ledger-writer commits only what the
 * replica has, so MySQL never gets ahead of the promoted replica: variance 0 without any
 * compensation. The figures (events lost, decided twice, outcomes lost, time to recover) are
 * printed for docs/cluster.md ("The failover window").
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Keys, createRedis, toFields, type Redis } from '@holdfast/shared';
import {
  isolatedEnv,
  shardsOnDistinctPrimaries,
  startRedisCluster,
  startService,
  stopAll,
  stopRedisClusters,
  waitFor,
  type IsolatedEnv,
  type RedisCluster,
  type RedisClusterNode,
  type RunningService,
} from '@holdfast/testkit';
import {
  allShardsStock,
  groupBacklog,
  invariantViolations,
  mysqlStock,
  redisStock,
} from '../src/checker.js';
import { runCli } from '../src/harness.js';

const FAST = {
  CLAIM_IDLE_MS: '1000',
  HOUSEKEEPING_MS: '500',
  BLOCK_MS: '200',
  SWEEP_INTERVAL_MS: '200',
};
/** Long enough that a 2-core machine under load does not fail a node over by mistake. */
const NODE_TIMEOUT_MS = 3_000;
const UNITS = 200;
const SKUS_PER_SHARD = 3;
/** Producer: one reserve every this many ms (about 100/s over the three shards). */
const SEND_EVERY_MS = 10;

interface Figures {
  wait: number;
  sent: number;
  decidedOnVictimDuringCut: number;
  eventsLost: number;
  decidedTwice: number;
  outcomesLost: number;
  failoverMs: number;
  recoverMs: number;
  variance: number;
  varianceSkus: number;
  compensations: number;
  /** Oversell samples of Redis and MySQL taken during the run. */
  samples: number;
}
const figures: Figures[] = [];

/** The replica of the primary on `port`, from that primary's CLUSTER NODES. */
async function replicaOf(cluster: RedisCluster, port: number): Promise<RedisClusterNode> {
  const lines = String(await cluster.nodeCommand(port, 'CLUSTER', 'NODES'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split(' '));
  const me = lines.find((l) => l[2]!.includes('myself'))!;
  const rep = lines.find((l) => l[3] === me[0]);
  const repPort = rep ? Number(rep[1]!.split('@')[0]!.split(':').pop()) : NaN;
  const node = cluster.nodes.find((n) => n.port === repPort);
  if (!node) throw new Error(`no replica of ${port} in ${lines.map((l) => l[1]).join(', ')}`);
  return node;
}

const ms = (id: string) => Number(id.slice(0, id.indexOf('-')));

for (const wait of [0, 1]) {
  describe(`13 failover of a shard's primary, REDIS_WAIT_REPLICAS=${wait}`, () => {
    let env: IsolatedEnv;
    let redis: Redis | undefined;
    let services: RunningService[] = [];
    let frozen: number | undefined;
    afterAll(async () => {
      // A failed run may leave the replica frozen: let it go so it can be stopped.
      if (frozen !== undefined) {
        try {
          process.kill(frozen, 'SIGCONT');
        } catch {
          /* already gone */
        }
      }
      await stopAll(services);
      redis?.disconnect();
      await env?.cleanup();
      await stopRedisClusters();
      if (wait === 1 && figures.length) {
        console.log(
          `[13 failover] figures (${new Date().toISOString().slice(0, 10)}):\n` +
            figures.map((f) => JSON.stringify(f)).join('\n'),
        );
      }
    });

    it('loses at most the unreplicated window; compensation restores agreement, never oversells', async () => {
      env = await isolatedEnv();
      const ns = env.namespace;
      const cluster = await startRedisCluster({ nodeTimeoutMs: NODE_TIMEOUT_MS });
      // Three shards, each on a different primary.
      const picked = await shardsOnDistinctPrimaries(cluster, 3);
      const shards = picked.map((x) => x.shard);
      const keys = new Keys(ns, shards);
      // The victim: a shard whose primary does not hold checkout:events, so producers' entries
      // survive and every loss counted is the fleet's.
      const eventsNode = await cluster.primaryFor(keys.streams.events);
      const victim = picked.find((x) => x.primary.port !== eventsNode.port)!.shard;
      const primary = await cluster.primaryFor(keys.shard(victim).prefix);
      const replica = await replicaOf(cluster, primary.port);

      redis = createRedis(
        { url: 'redis://127.0.0.1:6379', clusterNodes: cluster.nodesEnv.split(',') },
        { name: 'hf-test' },
      );
      const r = redis;
      const svcEnv: Record<string, string> = {
        ...env.env,
        ...FAST,
        REDIS_CLUSTER_NODES: cluster.nodesEnv,
        HOLDFAST_SHARDS: shards.join(','),
        REDIS_WAIT_REPLICAS: String(wait),
      };
      services = await Promise.all([
        startService('ingest', svcEnv),
        startService('reserver', svcEnv),
        startService('ledger-writer', svcEnv),
      ]);

      // SKU k of shard s is `S<s>K<k>`, placed there, then restocked.
      const skus: string[] = [];
      for (const [s, shard] of shards.entries()) {
        for (let k = 0; k < SKUS_PER_SHARD; k++) {
          const sku = `S${s}K${k}`;
          skus.push(sku);
          await r.xadd(keys.streams.admin, '*', 'type', 'place', 'event_id', `pl-${sku}`, 'sku', sku, 'shard', shard); // prettier-ignore
        }
      }
      await waitFor(async () => (await r.hlen(keys.streams.placement)) === skus.length, {
        what: 'placed',
      });
      for (const sku of skus) {
        await r.xadd(keys.streams.admin, '*', 'type', 'restock', 'event_id', `rs-${sku}`, 'sku', sku, 'qty', String(UNITS)); // prettier-ignore
      }
      await waitFor(async () => (await allShardsStock(r, ns, shards)).size === skus.length, {
        what: 'restocked',
      });

      // ---- load, the live view of outcomes, the oversell sampler --------------------------------
      const sent = new Set<string>();
      /** event_id → outcome entry ids seen live (on any shard). */
      const seen = new Map<string, Set<string>>();
      /** Outcome entries seen live on the victim's stream: entry id → event_id. */
      const seenVictim = new Map<string, string>();
      const followed = new Set<string>();
      const violations: string[] = [];
      let samples = 0;
      let stop = false;
      /** When each reserve of a victim SKU was sent (producers' view). */
      const victimSentAt: number[] = [];
      const victimSku = new RegExp(`^S${shards.indexOf(victim)}K`);
      const send = async (fields: string[]) => {
        await r.xadd(keys.streams.events, '*', ...fields);
        sent.add(fields[3]!);
      };
      const producer = (async () => {
        for (let i = 0; !stop; i++) {
          const sku = skus[i % skus.length]!;
          await send(['type', 'reserve', 'event_id', `r-c${i}`, 'checkout_id', `c${i}`, 'user_id', `u${i}`, 'lines', JSON.stringify([{ sku, qty: 1 + (i % 2) }]), 'hold_seconds', '600']); // prettier-ignore
          if (victimSku.test(sku)) victimSentAt.push(Date.now());
          await new Promise((res) => setTimeout(res, SEND_EVERY_MS));
        }
      })();
      const last = new Map(shards.map((s) => [s, '0-0']));
      const perShard = new Map(shards.map((s) => [s, 0]));
      const tail = async () => {
        for (const s of shards) {
          const page = await r.xrange(keys.shard(s).outcomes, `(${last.get(s)!}`, '+', 'COUNT', 1000); // prettier-ignore
          for (const [id, flat] of page) {
            last.set(s, id);
            perShard.set(s, perShard.get(s)! + 1);
            const o = toFields(flat);
            const ev = o.event_id ?? '';
            const set = seen.get(ev) ?? new Set<string>();
            set.add(`${s}/${id}`);
            seen.set(ev, set);
            if (s === victim) seenVictim.set(id, ev);
            // Follow a hold up: two of three confirmed, the third cancelled.
            const cid = o.checkout_id ?? '';
            if (o.type === 'reserve' && o.status === 'reserved' && !followed.has(cid) && !stop) {
              followed.add(cid);
              const n = Number(cid.slice(1));
              const type = n % 3 === 0 ? 'cancel' : 'confirm';
              await send(['type', type, 'event_id', `${type}-${cid}`, 'checkout_id', cid]);
            }
          }
        }
      };
      let tailing = true;
      const tailer = (async () => {
        while (tailing) {
          await tail().catch(() => {}); // a failover under way: the next round reads on
          await new Promise((res) => setTimeout(res, 50));
        }
      })();
      const sampler = (async () => {
        while (tailing) {
          try {
            const [rs, my] = await Promise.all([
              allShardsStock(r, ns, shards),
              mysqlStock(env.mysqlUrl),
            ]);
            violations.push(...invariantViolations('redis', rs), ...invariantViolations('mysql', my)); // prettier-ignore
            samples++;
          } catch {
            /* a failover under way: sample again */
          }
          await new Promise((res) => setTimeout(res, 100));
        }
      })();
      const victimAfter = (t: number) => [...seenVictim.keys()].filter((id) => ms(id) > t).length;

      try {
        // Steady load on every shard.
        await waitFor(() => shards.every((s) => perShard.get(s)! >= 30) && followed.size >= 30, {
          what: 'steady load on every shard',
          timeoutMs: 30_000,
        });

        // ---- cut the replica off, let the primary alone take writes, kill it ------------------
        frozen = replica.pid;
        process.kill(replica.pid, 'SIGSTOP');
        const cutAt = Date.now();
        const killed = Number(
          await cluster.nodeCommand(primary.port, 'CLIENT', 'KILL', 'TYPE', 'replica'),
        );
        expect(killed, 'the primary dropped its replica link').toBe(1);
        // Some decisions on the victim shard that only the primary has; well inside the node
        // timeout, so the frozen replica is not marked failed and can still be promoted. With
        // the setting, ingest forwards nothing its replica lacks, so nothing is decided there
        // during the cut: wait for the events that would have been instead.
        await waitFor(
          () =>
            wait > 0
              ? victimSentAt.filter((t) => t > cutAt).length >= 15
              : victimAfter(cutAt) >= 15,
          {
            what: 'decisions (or, with the setting, events) on the victim shard after the cut',
            timeoutMs: NODE_TIMEOUT_MS / 2,
            intervalMs: 10,
          },
        );
        const decidedOnVictimDuringCut = victimAfter(cutAt);
        const killAt = Date.now();
        process.kill(primary.pid, 'SIGKILL');
        process.kill(replica.pid, 'SIGCONT');
        frozen = undefined;
        const { elapsedMs: failoverMs } = await cluster.waitForFailover(primary.port, 30_000);
        // The fleet decides on that shard again: the first new outcome there.
        const firstNew = await waitFor(() => [...seenVictim.keys()].find((id) => ms(id) > killAt), {
          what: 'a new decision on the victim shard',
          timeoutMs: 30_000,
        });
        const recoverMs = ms(firstNew) - killAt;
        await waitFor(() => victimAfter(killAt) >= 30, {
          what: 'the fleet deciding on the victim shard',
          timeoutMs: 30_000,
        });

        // ---- stop the load, drain -------------------------------------------------------------
        stop = true;
        await producer;
        await waitFor(
          async () => {
            await tail();
            for (const s of shards) if ((await groupBacklog(r, ns, s)).length) return false;
            return true;
          },
          { what: 'every stream drained', timeoutMs: 60_000 },
        );
        tailing = false;
        await Promise.all([tailer, sampler]);

        // ---- figures ---------------------------------------------------------------------------
        const final = new Map<string, number>();
        const finalIds = new Set<string>();
        for (const s of shards) {
          for (const [id, flat] of await r.xrange(keys.shard(s).outcomes, '-', '+')) {
            const ev = toFields(flat).event_id ?? '';
            final.set(ev, (final.get(ev) ?? 0) + 1);
            finalIds.add(`${s}/${id}`);
            const set = seen.get(ev) ?? new Set<string>();
            set.add(`${s}/${id}`);
            seen.set(ev, set);
          }
        }
        // What survives on each stream: at most one outcome per event (decision and outcome are
        // one atomic step, and so is their replication).
        expect([...final].filter(([, n]) => n > 1)).toEqual([]);
        const dead = (await r.xrange(keys.streams.dead, '-', '+')).map(([, f]) => toFields(f));
        expect(dead, 'no valid event dead-lettered').toEqual([]);
        const eventsLost = [...sent].filter((ev) => !final.has(ev)).length;
        const decidedTwice = [...seen.values()].filter((set) => set.size > 1).length;
        const outcomesLost = [...seenVictim.keys()].filter(
          (id) => !finalIds.has(`${victim}/${id}`),
        ).length;

        // ---- reconcile: report, compensate, agree ---------------------------------------------
        type Rec = { reports: Array<{ variances: unknown[]; totalAbsVariance: number }> };
        const reconcile = async (...extra: string[]) => {
          const res = await runCli(['reconcile', '--once', '--json', ...extra], svcEnv);
          expect([0, 1], res.stderr).toContain(res.code);
          const rec = JSON.parse(res.stdout) as Rec & { compensations: unknown[] };
          return {
            code: res.code,
            variance: rec.reports.reduce((n, x) => n + x.totalAbsVariance, 0),
            skus: rec.reports.reduce((n, x) => n + x.variances.length, 0),
            compensations: rec.compensations.length,
          };
        };
        const before = await reconcile();
        // The exit code says variance exactly when the report has some.
        expect(before.code).toBe(before.variance > 0 ? 1 : 0);
        let compensations = 0;
        if (before.variance > 0) {
          const comp = await reconcile('--compensate', '--yes');
          compensations = comp.compensations;
          expect(compensations).toBeGreaterThan(0);
          await waitFor(
            async () => {
              for (const s of shards) if ((await groupBacklog(r, ns, s)).length) return false;
              return true;
            },
            { what: 'compensations written to MySQL', timeoutMs: 30_000 },
          );
        }
        const f: Figures = {
          wait,
          sent: sent.size,
          decidedOnVictimDuringCut,
          eventsLost,
          decidedTwice,
          outcomesLost,
          failoverMs,
          recoverMs,
          variance: before.variance,
          varianceSkus: before.skus,
          compensations,
          samples,
        };
        figures.push(f);
        console.log(`[13 failover] ${JSON.stringify(f)}`);
        const after = await reconcile();
        expect(after).toMatchObject({ code: 0, variance: 0 });
        const rs = await allShardsStock(r, ns, shards);
        const my = await mysqlStock(env.mysqlUrl);
        expect(invariantViolations('redis', rs)).toEqual([]);
        expect(invariantViolations('mysql', my)).toEqual([]);
        expect(Object.fromEntries(my)).toEqual(Object.fromEntries(rs));
        expect(violations, `oversell in ${samples} samples`).toEqual([]);
        expect(samples).toBeGreaterThanOrEqual(5);

        // The setting's promise: MySQL never holds a change the promoted replica lacks, so the
        // failover leaves no variance to compensate.
        if (wait > 0) expect(before.variance).toBe(0);
        // And ingest acks no producer entry before its forward is replicated: every event whose
        // entry survived (checkout:events is on another node) is decided.
        if (wait > 0) expect(eventsLost).toBe(0);
      } finally {
        stop = true;
        tailing = false;
        await Promise.allSettled([producer, tailer, sampler]);
      }
    }, 240_000);
  });
}

/**
 * The setting's cost, measured only on request (HOLDFAST_MEASURE_WAIT=1; docs/cluster.md): the
 * fleet on one shard of a real cluster with replicas, REDIS_WAIT_REPLICAS 0 then 1 in the same
 * run. A burst of reserves (throughput: first send → last outcome; ledger: → last MySQL row),
 * then a steady rate (decision latency: XADD → outcome entry, p50/p99).
 */
describe.runIf(process.env.HOLDFAST_MEASURE_WAIT === '1')('13 cost of REDIS_WAIT_REPLICAS', () => {
  const envs: IsolatedEnv[] = [];
  let services: RunningService[] = [];
  let redis: Redis | undefined;
  afterAll(async () => {
    await stopAll(services);
    redis?.disconnect();
    for (const e of envs) await e.cleanup();
    await stopRedisClusters();
  });

  it('measures throughput and latency with and without waiting', async () => {
    const BURST = 4_000;
    const STEADY = 1_500;
    const cluster = await startRedisCluster();
    redis = createRedis(
      { url: 'redis://127.0.0.1:6379', clusterNodes: cluster.nodesEnv.split(',') },
      { name: 'hf-measure' },
    );
    const r = redis;
    const rows: string[] = [];
    for (const wait of [0, 1]) {
      const env = await isolatedEnv();
      envs.push(env);
      const ns = env.namespace;
      const keys = new Keys(ns, ['main']);
      const out = keys.shard('main').outcomes;
      const svcEnv = {
        ...env.env,
        ...FAST,
        REDIS_CLUSTER_NODES: cluster.nodesEnv,
        REDIS_WAIT_REPLICAS: String(wait),
      };
      services = await Promise.all([
        startService('ingest', svcEnv),
        startService('reserver', svcEnv),
        startService('ledger-writer', svcEnv),
      ]);
      for (let k = 0; k < 100; k++) {
        await r.xadd(keys.streams.admin, '*', 'type', 'restock', 'event_id', `rs${k}`, 'sku', `K${k}`, 'qty', '100000'); // prettier-ignore
      }
      await waitFor(async () => (await redisStock(r, ns, 'main')).size === 100, {
        what: 'restocked',
      });
      const reserve = (i: number) => ['type', 'reserve', 'event_id', `r${i}`, 'checkout_id', `c${i}`, 'user_id', `u${i}`, 'lines', JSON.stringify([{ sku: `K${i % 100}`, qty: 1 }])]; // prettier-ignore
      const count = async () => Number(await r.xlen(out));
      const ledgerRows = async () => {
        const m = await mysqlStock(env.mysqlUrl);
        return [...m.values()].reduce((n, c) => n + c[2], 0); // units held = reserves in MySQL
      };
      // Burst.
      const t0 = Date.now();
      for (let i = 0; i < BURST; i += 500) {
        const p = r.pipeline();
        for (let j = i; j < i + 500; j++) p.xadd(keys.streams.events, '*', ...reserve(j));
        await p.exec();
      }
      await waitFor(async () => (await count()) >= BURST, {
        what: 'burst decided',
        timeoutMs: 120_000,
        intervalMs: 20,
      });
      const decidedMs = Date.now() - t0;
      await waitFor(async () => (await ledgerRows()) >= BURST, {
        what: 'burst in MySQL',
        timeoutMs: 120_000,
        intervalMs: 50,
      });
      const ledgerMs = Date.now() - t0;
      // Steady rate, about 250/s: latency from XADD to the outcome entry.
      const sentAt = new Map<string, number>();
      for (let i = BURST; i < BURST + STEADY; i++) {
        const id = await r.xadd(keys.streams.events, '*', ...reserve(i));
        sentAt.set(`r${i}`, ms(String(id)));
        if (i % 5 === 0) await new Promise((res) => setTimeout(res, 20));
      }
      await waitFor(async () => (await count()) >= BURST + STEADY, {
        what: 'steady decided',
        timeoutMs: 60_000,
      });
      const lat: number[] = [];
      for (const [id, flat] of await r.xrange(out, '-', '+')) {
        const sent = sentAt.get(toFields(flat).event_id ?? '');
        if (sent !== undefined) lat.push(ms(id) - sent);
      }
      lat.sort((a, b) => a - b);
      const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
      rows.push(
        JSON.stringify({
          wait,
          burst: BURST,
          decidedPerSecond: Math.round((BURST * 1000) / decidedMs),
          ledgerRowsPerSecond: Math.round((BURST * 1000) / ledgerMs),
          latencyP50Ms: q(0.5),
          latencyP99Ms: q(0.99),
        }),
      );
      await stopAll(services);
      services = [];
    }
    console.log(`[13 cost] (${new Date().toISOString().slice(0, 10)}):\n${rows.join('\n')}`);
    expect(rows).toHaveLength(2);
  }, 240_000);
});
