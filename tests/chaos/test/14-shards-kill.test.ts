/**
 * 14. A fleet SIGKILL mid-stream on the cluster (issue 11): the fleet (ingest, two reservers,
 * ledger-writer) on three shards of a real local Redis Cluster (3 primaries + 3 replicas, each
 * shard's hash tag on its own primary) under a steady stream of single-shard carts and carts
 * across two and three shards — confirmed, cancelled or left to expire (2 s holds), a few sent
 * twice, some that can never be held (a remote part asks 1 000 units) and hot SKUs that sell out.
 *
 * Three times, every service is SIGKILLed at once while carts across shards are in flight: the
 * test freezes the whole fleet (SIGSTOP, so what it then reads is exactly what the processes
 * leave behind), checks that there are pending sagas (home holds in state `pending`), outbox
 * messages the relay has not acked and ledger entries the ledger-writer read but has not
 * acked (a batch not committed, or committed but unacked), SIGKILLs every process — or lets the
 * fleet go on and looks again a moment later — then starts a new fleet and waits until it has
 * recovered: every event sent before the restart has its outcome, and every outbox message and
 * ledger entry that existed then is relayed / committed.
 *
 * Afterwards (load stopped, every group drained on every shard's streams, no hold left): every
 * event sent has exactly one outcome, a reserve on its first line's shard; no SKU oversold in
 * Redis or MySQL at any sample; every cart all or nothing (a reserved cart's home hold and every
 * part end confirmed/sold or cancelled/expired/released; a rejected cart holds nothing anywhere);
 * each SKU's sold units are exactly the confirmed carts' lines; MySQL equals Redis and
 * `holdfast reconcile --once` reports 0 — killing services (not Redis) loses nothing, so no
 * compensation is needed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GROUPS, Keys, createRedis, toFields, type Redis } from '@holdfast/shared';
import {
  isolatedEnv,
  shardsOnDistinctPrimaries,
  startRedisCluster,
  startService,
  stopAll,
  stopRedisClusters,
  waitFor,
  type IsolatedEnv,
  type RunningService,
} from '@holdfast/testkit';
import { allShardsStock, groupBacklog, invariantViolations, mysqlStock } from '../src/checker.js';
import { runCli } from '../src/harness.js';

const FAST = {
  CLAIM_IDLE_MS: '1000',
  HOUSEKEEPING_MS: '500',
  BLOCK_MS: '200',
  SWEEP_INTERVAL_MS: '100',
  HOLD_MIN_SECONDS: '1',
};
const KILLS = 3;
const SKUS_PER_SHARD = 3;
/** SKU 0 of each shard is hot (sells out during the run); the others have plenty. */
const HOT_UNITS = 60;
const UNITS = 400;
/** Producer: one new cart every this many ms (about 45 carts/s, plus their follow-ups). */
const SEND_EVERY_MS = 22;
/** Carts decided between two kills (and before the first). */
const STEADY_CARTS = 80;

type Line = [sku: string, qty: number];
type Then = 'confirm' | 'cancel' | 'expire';
interface Cart {
  checkout: string;
  lines: Line[];
  then: Then;
  /** The shards of its lines (more than one: a cart across shards). */
  shards: Set<string>;
}
interface Outcome {
  shard: string;
  id: string;
  f: Record<string, string>;
}
interface Kill {
  /** Home holds in state `pending` (sagas waiting for their parts) at the kill. */
  pendingSagas: number;
  /** Remote parts held for carts not decided yet (the saga half-way) at the kill. */
  partsHeld: number;
  /** Outbox messages not relayed (pending in the relay group, or not yet read) at the kill. */
  outbox: number;
  /** Ledger entries read by the ledger-writer and not acked at the kill (batches in hand). */
  ledgerInHand: number;
  /** Ledger entries not yet read at the kill. */
  ledgerUnread: number;
  /** How many freeze-and-look attempts it took. */
  attempts: number;
  /** Kill → every service of the new fleet started. */
  downMs: number;
  /** New fleet started → everything from before decided, relayed and committed. */
  recoverMs: number;
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

function cmpId(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/** One consumer group of a stream: what the stream has, what the group read and holds. */
async function groupState(r: Redis, stream: string, group: string) {
  let info: unknown[];
  let groups: unknown[][];
  try {
    [info, groups] = await Promise.all([
      r.xinfo('STREAM', stream) as Promise<unknown[]>,
      r.xinfo('GROUPS', stream) as Promise<unknown[][]>,
    ]);
  } catch {
    return { lastGenerated: '0-0', lastDelivered: '0-0', pending: 0, undelivered: 0 };
  }
  const lastGenerated = String(info[info.indexOf('last-generated-id') + 1]);
  const g = groups
    .map((x) => {
      const o: Record<string, unknown> = {};
      for (let i = 0; i + 1 < x.length; i += 2) o[String(x[i])] = x[i + 1];
      return o;
    })
    .find((o) => o.name === group);
  const lastDelivered = g ? String(g['last-delivered-id']) : '0-0';
  const pending = g ? Number(g.pending) : 0;
  const undelivered =
    cmpId(lastDelivered, lastGenerated) < 0
      ? ((await r.xrange(stream, `(${lastDelivered}`, '+', 'COUNT', 10_000)) as unknown[]).length
      : 0;
  return { lastGenerated, lastDelivered, pending, undelivered };
}

/** True once the group has read and acked every entry up to `upTo`. */
async function doneUpTo(r: Redis, stream: string, group: string, upTo: string) {
  const s = await groupState(r, stream, group);
  if (cmpId(upTo, '0-0') === 0) return true;
  if (cmpId(s.lastDelivered, upTo) < 0) return false;
  if (s.pending === 0) return true;
  const p = (await r.xpending(stream, group)) as [number, string, string, unknown];
  return cmpId(p[1], upTo) > 0;
}

describe('14 fleet SIGKILL mid-stream on a Redis Cluster, carts across shards', () => {
  let env: IsolatedEnv | undefined;
  let redis: Redis | undefined;
  let services: RunningService[] = [];
  afterAll(async () => {
    for (const s of services) {
      try {
        // A failed run may leave it frozen; only a child still running (its pid is still ours).
        if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGCONT');
      } catch {
        /* already gone */
      }
    }
    await stopAll(services);
    redis?.disconnect();
    await env?.cleanup();
    await stopRedisClusters();
  });

  it('every event one outcome, carts all or nothing, MySQL = Redis after fleet kills', async () => {
    const t0 = Date.now();
    env = await isolatedEnv();
    const ns = env.namespace;
    const mysqlUrl = env.mysqlUrl;
    const cluster = await startRedisCluster();
    // Three shards, each on a different primary (as scenarios 12 and 13 choose them).
    const shards = (await shardsOnDistinctPrimaries(cluster, 3)).map((x) => x.shard);
    expect(shards).toHaveLength(3);
    const keys = new Keys(ns, shards);
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
    };
    const startFleet = () =>
      Promise.all([
        startService('ingest', svcEnv),
        startService('reserver', svcEnv),
        startService('reserver', svcEnv),
        startService('ledger-writer', svcEnv),
      ]);
    services = await startFleet();

    // SKU k of shard s is `S<s>K<k>`, placed there (and applied) before its restock.
    const shardOf = new Map<string, string>();
    const units = new Map<string, number>();
    const skuOf = (s: number, k: number) => `S${s}K${k}`;
    for (const [s, shard] of shards.entries()) {
      for (let k = 0; k < SKUS_PER_SHARD; k++) {
        const sku = skuOf(s, k);
        shardOf.set(sku, shard);
        units.set(sku, k === 0 ? HOT_UNITS : UNITS);
        await r.xadd(keys.streams.admin, '*', 'type', 'place', 'event_id', `pl-${sku}`, 'sku', sku, 'shard', shard); // prettier-ignore
      }
    }
    await waitFor(async () => (await r.hlen(keys.streams.placement)) === shardOf.size, {
      what: 'placed',
    });
    for (const [sku, n] of units) {
      await r.xadd(keys.streams.admin, '*', 'type', 'restock', 'event_id', `rs-${sku}`, 'sku', sku, 'qty', String(n)); // prettier-ignore
    }
    await waitFor(async () => (await allShardsStock(r, ns, shards)).size === shardOf.size, {
      what: 'restocked',
    });

    // ---- the carts -------------------------------------------------------------------------
    /** Cart i: a fifth single-shard with one line, a fifth single-shard with two, two fifths
     * across two shards, a fifth across three; every 23rd asks 1 000 units of a remote part. */
    const cartOf = (i: number): Cart => {
      const home = i % 3;
      const k = (n: number) => (i * 7 + n) % SKUS_PER_SHARD;
      const kind = i % 5;
      const lines: Line[] = [[skuOf(home, k(0)), 1 + (i % 2)]];
      if (kind === 1) lines.push([skuOf(home, k(1) === k(0) ? (k(0) + 1) % 3 : k(1)), 1]);
      if (kind >= 2) lines.push([skuOf((home + 1) % 3, k(1)), i % 23 === 0 ? 1000 : 1]);
      if (kind === 4) lines.push([skuOf((home + 2) % 3, k(2)), 1]);
      const then: Then = i % 4 === 1 ? 'cancel' : i % 4 === 3 ? 'expire' : 'confirm';
      return {
        checkout: `c${i}`,
        lines,
        then,
        shards: new Set(lines.map(([sku]) => shardOf.get(sku)!)),
      };
    };
    const carts = new Map<string, Cart>();
    const sent = new Set<string>();
    /** event_id → every outcome entry seen for it (live, by the tailer). */
    const seen = new Map<string, Outcome[]>();
    const followed = new Set<string>();
    const violations: string[] = [];
    let samples = 0;
    let producing = true;
    /** Carts the producer sends back to back, without pausing (a rush just before a kill). */
    let rush = 0;
    let tailing = true;

    const send = async (fields: string[]) => {
      for (;;) {
        try {
          await r.xadd(keys.streams.events, '*', ...fields);
          sent.add(fields[3]!);
          return;
        } catch {
          await sleep(50); // not accepted: a producer sends again
        }
      }
    };
    const producer = (async () => {
      for (let i = 0; producing; i++) {
        const c = cartOf(i);
        carts.set(c.checkout, c);
        const f = ['type', 'reserve', 'event_id', `r-${c.checkout}`, 'checkout_id', c.checkout, 'user_id', `u${i}`, 'lines', JSON.stringify(c.lines.map(([sku, qty]) => ({ sku, qty }))), 'hold_seconds', c.then === 'expire' ? '2' : '600']; // prettier-ignore
        await send(f);
        if (i % 31 === 5) await send(f); // a producer retry: same event, no second outcome
        if (rush > 0) rush--;
        else await sleep(SEND_EVERY_MS);
      }
    })();
    const last = new Map(shards.map((s) => [s, '0-0']));
    const tail = async () => {
      for (const s of shards) {
        const page = await r.xrange(keys.shard(s).outcomes, `(${last.get(s)!}`, '+', 'COUNT', 1000); // prettier-ignore
        for (const [id, flat] of page) {
          last.set(s, id);
          const f = toFields(flat);
          const ev = f.event_id ?? '';
          seen.set(ev, [...(seen.get(ev) ?? []), { shard: s, id, f }]);
          // Follow a reserved cart up as planned (also after the load stopped: every hold ends).
          const c = carts.get(f.checkout_id ?? '');
          if (f.type === 'reserve' && f.status === 'reserved' && c && !followed.has(c.checkout)) {
            followed.add(c.checkout);
            if (c.then !== 'expire') {
              await send(['type', c.then, 'event_id', `${c.then}-${c.checkout}`, 'checkout_id', c.checkout]); // prettier-ignore
            }
          }
        }
      }
    };
    const tailer = (async () => {
      while (tailing) {
        await tail().catch(() => {});
        await sleep(50);
      }
    })();
    const sampler = (async () => {
      while (tailing) {
        try {
          const [rs, my] = await Promise.all([allShardsStock(r, ns, shards), mysqlStock(mysqlUrl)]);
          violations.push(...invariantViolations('redis', rs), ...invariantViolations('mysql', my)); // prettier-ignore
          samples++;
        } catch {
          /* sample again */
        }
        await sleep(250);
      }
    })();
    const reserveOutcomes = () =>
      [...seen.values()].filter((os) => os.some((o) => o.f.type === 'reserve')).length;
    const undecided = (ids: Iterable<string>) => [...ids].filter((ev) => !seen.has(ev));

    /** What the (frozen) fleet leaves behind: pending sagas, unrelayed outbox, ledger in hand. */
    const inFlight = async () => {
      const candidates = [...carts.values()].filter(
        (c) => c.shards.size > 1 && sent.has(`r-${c.checkout}`) && !seen.has(`r-${c.checkout}`),
      );
      const [states, parts] = await Promise.all([
        Promise.all(
          candidates.map((c) =>
            r.hget(keys.shard(shardOf.get(c.lines[0]![0])!).hold(c.checkout), 'state'),
          ),
        ),
        Promise.all(
          candidates.flatMap((c) =>
            [...c.shards]
              .filter((s) => s !== shardOf.get(c.lines[0]![0]))
              .map((s) => r.hget(keys.shard(s).part(`r-${c.checkout}`), 'state')),
          ),
        ),
      ]);
      const per = await Promise.all(
        shards.map(async (s) => {
          const [out, led] = await Promise.all([
            groupState(r, keys.shard(s).outbox, GROUPS.relay),
            groupState(r, keys.shard(s).ledger, GROUPS.ledgerWriter),
          ]);
          return { outbox: out.pending + out.undelivered, led };
        }),
      );
      return {
        pendingSagas: states.filter((x) => x === 'pending').length,
        partsHeld: parts.filter((x) => x === 'held').length,
        outbox: per.reduce((n, x) => n + x.outbox, 0),
        ledgerInHand: per.reduce((n, x) => n + x.led.pending, 0),
        ledgerUnread: per.reduce((n, x) => n + x.led.undelivered, 0),
      };
    };
    const pids = () => services.map((s) => s.proc.pid!);
    const signalAll = (sig: NodeJS.Signals) => {
      for (const pid of pids()) process.kill(pid, sig);
    };

    const kills: Kill[] = [];
    try {
      for (let k = 0; k < KILLS; k++) {
        // Steady load: carts decided since the last restart, some of them across shards.
        const base = reserveOutcomes();
        await waitFor(() => reserveOutcomes() >= base + STEADY_CARTS, {
          what: `${STEADY_CARTS} carts decided before kill ${k + 1}`,
          timeoutMs: 30_000,
        });

        // ---- freeze, look, SIGKILL everything (or thaw and look again) -----------------------
        // A rush of carts puts several sagas in flight at once; the first 5 s of looking want
        // three pending, later one is enough.
        rush = 30;
        let attempts = 0;
        const lookFrom = Date.now();
        const at = await waitFor(
          async () => {
            attempts++;
            signalAll('SIGSTOP');
            let f: Awaited<ReturnType<typeof inFlight>> | undefined;
            try {
              f = await inFlight();
            } finally {
              const sagas = Date.now() - lookFrom < 5_000 ? 3 : 1;
              if (!f || !(f.pendingSagas >= sagas && f.outbox > 0 && f.ledgerInHand > 0)) {
                signalAll('SIGCONT');
                f = undefined;
              }
            }
            return f;
          },
          {
            what: 'a moment with pending sagas, unrelayed outbox messages and a ledger batch in hand',
            timeoutMs: 20_000,
            intervalMs: 15,
          },
        );
        const killAt = Date.now();
        signalAll('SIGKILL');
        const dead = services;
        await Promise.all(dead.map((s) => s.exited)); // SIGKILL ends a stopped process too
        expect(dead.map((s) => s.proc.signalCode)).toEqual(dead.map(() => 'SIGKILL'));

        // ---- a new fleet; wait until it has picked up everything from before ----------------
        services = await startFleet();
        const startedAt = Date.now();
        const before = [...sent];
        const marks = await Promise.all(
          shards.map(async (s) => ({
            s,
            outbox: (await groupState(r, keys.shard(s).outbox, GROUPS.relay)).lastGenerated,
            ledger: (await groupState(r, keys.shard(s).ledger, GROUPS.ledgerWriter)).lastGenerated,
          })),
        );
        await waitFor(
          async () => {
            if (undecided(before).length) return false;
            for (const m of marks) {
              if (!(await doneUpTo(r, keys.shard(m.s).outbox, GROUPS.relay, m.outbox))) return false; // prettier-ignore
              if (!(await doneUpTo(r, keys.shard(m.s).ledger, GROUPS.ledgerWriter, m.ledger))) return false; // prettier-ignore
            }
            return true;
          },
          {
            what: () =>
              `recovery after kill ${k + 1}: undecided ${undecided(before).slice(0, 10).join(',')}`,
            timeoutMs: 40_000,
            intervalMs: 50,
          },
        );
        kills.push({
          ...at,
          attempts,
          downMs: startedAt - killAt,
          recoverMs: Date.now() - startedAt,
        });
      }

      // ---- stop the load, drain ------------------------------------------------------------
      const base = reserveOutcomes();
      await waitFor(() => reserveOutcomes() >= base + 20, {
        what: 'carts decided after the last restart',
        timeoutMs: 30_000,
      });
      producing = false;
      await producer;
      const expiring = () =>
        [...carts.values()].filter(
          (c) =>
            c.then === 'expire' &&
            seen.get(`r-${c.checkout}`)?.some((o) => o.f.status === 'reserved'),
        );
      await waitFor(
        async () => {
          if (undecided(sent).length) return false;
          // Every reserved cart followed up and its follow-up decided; every 2 s hold expired.
          if (undecided([...followed].map((c) => `${carts.get(c)!.then}-${c}`).filter((e) => !e.startsWith('expire-'))).length) return false; // prettier-ignore
          const expired = new Set([...seen.keys()].map((e) => /^expired:(c\d+):/.exec(e)?.[1]));
          if (expiring().some((c) => !expired.has(c.checkout))) return false;
          for (const s of shards) {
            if (await r.zcard(keys.shard(s).holdsDue)) return false;
            if ((await groupBacklog(r, ns, s)).length) return false;
          }
          const rs = await allShardsStock(r, ns, shards);
          return [...rs.values()].every((c) => c[2] === 0);
        },
        {
          what: () => `drained: undecided ${undecided(sent).slice(0, 10).join(',')}`,
          timeoutMs: 40_000,
          intervalMs: 100,
        },
      );
      const rs = await allShardsStock(r, ns, shards);
      await waitFor(
        async () => {
          const my = await mysqlStock(mysqlUrl);
          return [...rs].every(([sku, c]) => JSON.stringify(my.get(sku)) === JSON.stringify(c));
        },
        { what: 'MySQL caught up with Redis', timeoutMs: 30_000 },
      );
      await tail();
      tailing = false;
      await Promise.all([tailer, sampler]);

      // ---- every event exactly one outcome, on the right shard -------------------------------
      const final = new Map<string, Outcome[]>();
      for (const s of shards) {
        for (const [id, flat] of await r.xrange(keys.shard(s).outcomes, '-', '+')) {
          const f = toFields(flat);
          const ev = f.event_id ?? '';
          final.set(ev, [...(final.get(ev) ?? []), { shard: s, id, f }]);
        }
      }
      const twice = [...final].filter(([, os]) => os.length > 1).map(([ev]) => ev);
      expect(twice, 'events decided twice').toEqual([]);
      expect(undecided(sent).filter((ev) => !final.has(ev)), 'events without outcome').toEqual([]); // prettier-ignore
      // Nothing seen live is gone (service kills lose nothing).
      const finalIds = new Set([...final.values()].flat().map((o) => `${o.shard}/${o.id}`));
      const liveIds = [...seen.values()].flat().map((o) => `${o.shard}/${o.id}`);
      expect(
        liveIds.filter((id) => !finalIds.has(id)),
        'outcomes lost',
      ).toEqual([]);
      // Nothing unexplained: each outcome is of an event sent, or an expiry of a cart sent.
      const unexplained = [...final.keys()].filter(
        (ev) => !sent.has(ev) && !/^expired:c\d+:\d+$/.test(ev),
      );
      expect(unexplained, 'unexplained outcomes').toEqual([]);
      const dead = await r.xlen(keys.streams.dead);
      expect(dead, 'dead letters').toBe(0);

      // ---- every cart all or nothing ---------------------------------------------------------
      const expiryOf = new Map<string, Outcome>();
      for (const [ev, os] of final) {
        const m = /^expired:(c\d+):/.exec(ev);
        if (m) expiryOf.set(m[1]!, os[0]!);
      }
      const soldBy = new Map<string, number>();
      /** How late the latest expiry came after its hold's deadline (kills delay the sweep). */
      let maxLateMs = 0;
      const problems: string[] = [];
      const tally = { reserved: 0, rejected: 0, confirmed: 0, cancelled: 0, expired: 0, across: 0 };
      const reasons: Record<string, number> = {};
      for (const c of carts.values()) {
        const res = final.get(`r-${c.checkout}`)?.[0];
        if (!res) continue; // never sent (the producer stopped before sending it)
        const home = shardOf.get(c.lines[0]![0])!;
        if (res.shard !== home) problems.push(`${c.checkout}: decided on ${res.shard}, home ${home}`); // prettier-ignore
        if (c.shards.size > 1) tally.across++;
        const hold = await r.hget(keys.shard(home).hold(c.checkout), 'state');
        const parts = await Promise.all(
          [...c.shards]
            .filter((s) => s !== home)
            .map(async (s) => ({ s, state: await r.hget(keys.shard(s).part(`r-${c.checkout}`), 'state') })), // prettier-ignore
        );
        if (res.f.status === 'reserved') {
          tally.reserved++;
          const end =
            c.then === 'expire'
              ? expiryOf.get(c.checkout)
              : final.get(`${c.then}-${c.checkout}`)?.[0];
          const want = { confirm: 'confirmed', cancel: 'cancelled', expire: 'expired' }[c.then];
          if (end?.f.status !== want) problems.push(`${c.checkout}: ${c.then} ended ${end?.f.status ?? 'nowhere'}`); // prettier-ignore
          if (end && end.shard !== home) problems.push(`${c.checkout}: ${c.then} on ${end.shard}`);
          tally[want as 'confirmed' | 'cancelled' | 'expired']++;
          if (c.then === 'expire' && end) {
            const late = Number(end.f.at) - Number(res.f.expires_at);
            if (late > maxLateMs) maxLateMs = late;
          }
          if (hold !== want) problems.push(`${c.checkout}: home hold ${hold}, want ${want}`);
          const partWant = c.then === 'confirm' ? 'sold' : 'released';
          for (const p of parts) {
            if (p.state !== partWant) problems.push(`${c.checkout}: part on ${p.s} ${p.state}, want ${partWant}`); // prettier-ignore
          }
          if (c.then === 'confirm') {
            for (const [sku, q] of c.lines) soldBy.set(sku, (soldBy.get(sku) ?? 0) + q);
          }
        } else {
          tally.rejected++;
          const reason = res.f.reason ?? '?';
          reasons[reason] = (reasons[reason] ?? 0) + 1;
          if (hold !== null && hold !== 'rejected') problems.push(`${c.checkout}: rejected, home hold ${hold}`); // prettier-ignore
          for (const p of parts) {
            if (p.state === 'held' || p.state === 'sold') problems.push(`${c.checkout}: rejected, part on ${p.s} ${p.state}`); // prettier-ignore
          }
          if (c.lines.some(([, q]) => q === 1000) && reason !== 'out_of_stock' && reason !== 'shard_timeout') problems.push(`${c.checkout}: 1000 units rejected ${reason}`); // prettier-ignore
        }
      }
      expect(problems, 'carts not all-or-nothing').toEqual([]);

      // ---- books: sold = confirmed lines, nothing held, no oversell, MySQL = Redis ------------
      for (const [sku, c] of rs) {
        const sold = soldBy.get(sku) ?? 0;
        const total = units.get(sku)!;
        expect(c, sku).toEqual([total, total - sold, 0, sold]);
      }
      expect(invariantViolations('redis', rs)).toEqual([]);
      const my = await mysqlStock(mysqlUrl);
      expect(invariantViolations('mysql', my)).toEqual([]);
      expect(Object.fromEntries(my)).toEqual(Object.fromEntries(rs));
      expect(violations, `oversell in ${samples} samples`).toEqual([]);
      expect(samples).toBeGreaterThanOrEqual(5);
      const rec = await runCli(['reconcile', '--once', '--json'], svcEnv);
      expect(rec.code, rec.stderr).toBe(0);
      const report = JSON.parse(rec.stdout) as { reports: Array<{ totalAbsVariance: number }> };
      const variance = report.reports.reduce((n, x) => n + x.totalAbsVariance, 0);
      expect(variance).toBe(0);

      // The kills happened where they should: sagas pending, outbox unrelayed, ledger in hand.
      expect(kills).toHaveLength(KILLS);
      for (const x of kills) {
        expect(x.pendingSagas).toBeGreaterThan(0);
        expect(x.outbox).toBeGreaterThan(0);
        expect(x.ledgerInHand).toBeGreaterThan(0);
      }
      expect(tally.across).toBeGreaterThan(0);
      expect(tally.reserved).toBeGreaterThan(0);
      expect(tally.rejected).toBeGreaterThan(0);

      console.log(
        `[14 shards-kill] sent ${sent.size} events (${tally.reserved + tally.rejected} carts, ${tally.across} across shards), ` +
          `outcomes ${[...final.values()].flat().length}: reserved ${tally.reserved} (confirmed ${tally.confirmed}, cancelled ${tally.cancelled}, expired ${tally.expired}, at most ${maxLateMs} ms late), ` +
          `rejected ${tally.rejected} ${JSON.stringify(reasons)}; decided twice 0, lost 0; ` +
          `${kills.length} fleet kills [${kills.map((x) => `sagas ${x.pendingSagas} (parts held ${x.partsHeld})/outbox ${x.outbox}/ledger ${x.ledgerInHand}+${x.ledgerUnread} after ${x.attempts} looks, down ${x.downMs} ms, recovered ${x.recoverMs} ms`).join('; ')}]; ` +
          `${samples} samples, 0 oversold; variance ${variance}; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    } finally {
      producing = false;
      tailing = false;
      await Promise.allSettled([producer, tailer, sampler]);
    }
  }, 180_000);
});
