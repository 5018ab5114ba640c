/**
 * A — holdfast end to end: the four services as real processes (./fleet-services.ts) on a
 * fresh namespace and a fresh MySQL database. Producers XADD reserves to checkout:events from
 * several pipelined connections (./fleet-producers.ts); the run ends when every outcome is
 * written and the ledger-writer's group has nothing left (MySQL has every change). Then the
 * outcomes are read back (./fleet-outcomes.ts) and every invariant checked (./fleet-checks.ts).
 *
 * Clocks: the XADD entry id's ms and the outcome's `at` are both the Redis server clock, so
 * decision latency = outcome.at − event id ms needs no clock sync.
 */
import {
  createRedis,
  deleteNamespace,
  GROUPS,
  type Keys,
  type Redis,
  type RedisTarget,
} from '@holdfast/shared';
import type { RunningService } from '@holdfast/fleet';
import { dropDatabase } from '@holdfast/shared/mysql';
import { spawnCollateral, type Collateral, type CollateralSpec } from './collateral.js';
import { checkFleet, type FleetChecks } from './fleet-checks.js';
import { latencyTimeline, readOutcomes, sendSpan, type OutcomeTally } from './fleet-outcomes.js';
import {
  connectProducers,
  producerFields,
  sendWarmUp,
  startLoad,
  type Load,
} from './fleet-producers.js';
import {
  collectProfiles,
  serviceEnv,
  serviceMemoryMb,
  startServices,
  stopServices,
  waitUntil,
} from './fleet-services.js';
import { freshDatabase, freshNamespace, groupBacklog, randomId, redisNowMs } from './infra.js';
import { loadNow } from './machine.js';
import type { BenchOptions } from './options.js';
import {
  ProcessMonitor,
  benchProcess,
  serverProcesses,
  type MachineCpu,
  type ProcessStats,
  type WatchedProcess,
} from './proc.js';
import { armStock } from './redis-checks.js';
import { commandStats, diffCommandStats, slowlogSince, type CommandStats } from './redis-stats.js';
import { WARMUP_SKU, warmupSize, warmupStock, type Scenario } from './scenarios.js';
import { perSecond, summarize } from './stats.js';
import type { RunResult } from './types.js';

export { killLiveServices } from './fleet-services.js';

export interface FleetRunOptions {
  /** Reserves per second across producers; undefined = as fast as the producers can send. */
  ratePerSec?: number;
  /** The fraction of A's max rate `ratePerSec` is (names the variant). */
  fraction?: number;
  /** Directory for CPU profiles (profiling on when set). */
  profileDir?: string;
  /** Run on these shards of a Redis Cluster instead of on one shard of --redis-url. */
  cluster?: FleetCluster;
  /** The rest of the shop's MySQL traffic during the load (./collateral.ts). */
  collateral?: Omit<CollateralSpec, 'table'>;
}

/** Where a run on a Redis Cluster goes (the shard comparison, ./shard-comparison.ts). */
export interface FleetCluster {
  /** host:port seeds. */
  nodes: string[];
  shards: string[];
  /** The cluster's redis-server processes, watched like the other servers. */
  processes: WatchedProcess[];
}

/** One A run's namespace, database, connections and processes. */
interface FleetRun {
  sc: Scenario;
  o: BenchOptions;
  fo: FleetRunOptions;
  namespace: string;
  keys: Keys;
  db: string;
  mysqlUrl: string;
  /** Where the run's Redis is (one server, or the comparison's cluster). */
  redis: RedisTarget;
  /** Every SKU of the scenario and the warm-up SKU, with its stock. */
  armed: Array<[string, number]>;
  admin: Redis;
  poller: Redis;
  producers: Redis[];
  services: RunningService[];
  /** The shop's other traffic, while it runs (stopped in cleanUp if the run fails). */
  collateral: Collateral | undefined;
  notes: string[];
}

export async function runFleet(
  sc: Scenario,
  o: BenchOptions,
  log: (m: string) => void,
  fo: FleetRunOptions = {},
): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const loadavgStart = loadNow();
  const run = await prepareRun(sc, o, fo);
  try {
    await armStock(run.admin, run.keys, run.armed, 'a');
    await startFleet(run);
    const fields = producerFields(sc);
    await connectProducers(run.redis, o.producers, run.producers);
    const warmUp = await warmUpFleet(run);
    if (fo.collateral)
      run.collateral = await spawnCollateral(run.mysqlUrl, {
        ...fo.collateral,
        table: 'inventory_stock',
      });
    const window = await openWindow(run);
    run.collateral?.start();
    const load = await runLoad(run, fields, log);
    // While the promo's load runs, not while the ledger catches up.
    const collateral = await run.collateral?.stop();
    run.collateral = undefined;
    const drainedAt = await drainLedger(run);
    const measured = await closeWindow(run, window);
    const tally = await readOutcomes(run.admin, run.keys, sc.carts, load.xaddMs);
    const checks = await checkFleet(run, tally, drainedAt !== null);
    const profiles = await stopFleet(run, measured.windowUs);
    const result = fleetResult(run, { warmUp, load, drainedAt, measured, tally, checks, profiles });
    if (collateral) result.collateral = collateral;
    return { ...result, loadavgStart, loadavgEnd: loadNow(), startedAt, notes: run.notes };
  } finally {
    await cleanUp(run);
  }
}

/** A fresh namespace and database, and the benchmark's own Redis connections. */
async function prepareRun(sc: Scenario, o: BenchOptions, fo: FleetRunOptions): Promise<FleetRun> {
  const { namespace, keys } = freshNamespace(`a${sc.id}`, fo.cluster?.shards);
  const db = `hf_bench_${randomId()}`;
  const mysqlUrl = await freshDatabase(o.mysqlUrl, db);
  const redis: RedisTarget = { url: o.redisUrl, clusterNodes: fo.cluster?.nodes };
  return {
    sc,
    o,
    fo,
    namespace,
    keys,
    db,
    mysqlUrl,
    redis,
    armed: [...sc.stock, warmupStock(sc.buyers)],
    admin: createRedis(redis, { name: 'bench-a-admin' }),
    poller: createRedis(redis, { name: 'bench-a-poll' }),
    producers: [],
    services: [],
    collateral: undefined,
    notes: [],
  };
}

/** The ledger-writers' backlog over every shard's ledger stream. */
async function ledgerBacklog(run: FleetRun): Promise<number> {
  const { keys } = run;
  const each = await Promise.all(
    keys.allShards.map((s) => groupBacklog(run.poller, keys.shard(s).ledger, GROUPS.ledgerWriter)),
  );
  return each.reduce((n, v) => n + v, 0);
}

/** Outcomes written so far, over every shard's outcome stream. */
async function outcomeCount(run: FleetRun): Promise<number> {
  const each = await Promise.all(run.keys.outcomeStreams.map((s) => run.poller.xlen(s)));
  return each.reduce((n, v) => n + v, 0);
}

/** Starts the services; the restocks reach MySQL before the clock starts. */
async function startFleet(run: FleetRun): Promise<void> {
  const env = serviceEnv(
    {
      redisUrl: run.o.redisUrl,
      mysqlUrl: run.mysqlUrl,
      namespace: run.namespace,
      shards: run.keys.allShards,
      clusterNodes: run.fo.cluster?.nodes,
    },
    run.o.fleetEnv,
    run.fo.profileDir,
  );
  run.services = await startServices(env);
  // The drain measured later is the load's, not the arming's.
  await waitUntil(
    'the restocks to reach MySQL',
    120_000,
    run.services,
    async () => (await ledgerBacklog(run)) === 0,
    50,
  );
}

/** The untimed warm-up (the freshly started services compile their hot paths); its size. */
async function warmUpFleet(run: FleetRun): Promise<number> {
  const w = warmupSize(run.sc.buyers);
  await sendWarmUp(run.producers, run.keys.streams.events, w, run.o.chunk);
  await waitUntil(
    'the warm-up',
    120_000,
    run.services,
    async () => (await outcomeCount(run)) >= w && (await ledgerBacklog(run)) === 0,
    20,
  );
  return w;
}

interface Window {
  monitor: ProcessMonitor;
  statsBefore: CommandStats;
  /** Unix s: SLOWLOG entries from then on are the run's. */
  slowSince: number;
  /** process.hrtime µs (the CPU profiles' clock). */
  fromUs: number;
}

/** The measurement window opens: process CPU/RSS sampling, Redis command stats. */
async function openWindow(run: FleetRun): Promise<Window> {
  // On the comparison's cluster: its nodes and the MySQL server, not the other Redis servers.
  const servers = run.fo.cluster
    ? [
        ...run.fo.cluster.processes,
        ...serverProcesses().filter((p) => !p.name.startsWith('redis-server')),
      ]
    : serverProcesses();
  const monitor = new ProcessMonitor([
    ...run.services.map((s) => ({ name: s.name, pid: s.proc.pid!, kind: 'service' as const })),
    ...servers,
    benchProcess(),
  ]);
  const statsBefore = await commandStats(run.admin);
  const slowSince = Math.floor((await redisNowMs(run.admin)) / 1000);
  monitor.start();
  return { monitor, statsBefore, slowSince, fromUs: Number(process.hrtime.bigint() / 1000n) };
}

/** Sends every buyer and waits until each has its outcome. */
async function runLoad(run: FleetRun, fields: string[][], log: (m: string) => void): Promise<Load> {
  const { o, fo, keys } = run;
  const n = fields.length;
  const w = warmupSize(run.sc.buyers);
  const load = startLoad(run.producers, keys.streams.events, fields, o.chunk, fo.ratePerSec);
  await waitUntil('every outcome', Math.max(300_000, (n / 200) * 1000), run.services, async () => {
    if (load.error) throw load.error;
    return (await outcomeCount(run)) >= n + w;
  });
  await load.done;
  const paced = fo.ratePerSec !== undefined ? ` @${fo.ratePerSec}/s` : '';
  log(
    `A ${run.sc.name}${paced}: every outcome written after ${Math.round(performance.now() - load.t0)} ms`,
  );
  return load;
}

/** Waits until the ledger-writer has every change; its time (Redis clock ms) or null. */
async function drainLedger(run: FleetRun): Promise<number | null> {
  try {
    await waitUntil(
      'the ledger to drain',
      300_000,
      run.services,
      async () => (await ledgerBacklog(run)) === 0,
      10,
    );
    return await redisNowMs(run.poller);
  } catch (err) {
    run.notes.push(`ledger did not drain: ${(err as Error).message}`);
    return null;
  }
}

interface Measured {
  processes: ProcessStats[];
  machineCpu: MachineCpu;
  serviceMemoryMb: Record<string, Record<string, number | null>>;
  redisCommands: ReturnType<typeof diffCommandStats>;
  slowlog: Awaited<ReturnType<typeof slowlogSince>>;
  windowUs: { fromUs: number; toUs: number };
}

/** The window closes (after the drain): what the processes and Redis spent in it. */
async function closeWindow(run: FleetRun, window: Window): Promise<Measured> {
  const processes = window.monitor.stop();
  const toUs = Number(process.hrtime.bigint() / 1000n);
  const memory = await serviceMemoryMb(run.services);
  const statsAfter = await commandStats(run.admin);
  const slowlog = await slowlogSince(run.admin, window.slowSince, run.namespace).catch(() => []);
  return {
    processes,
    machineCpu: window.monitor.machine,
    serviceMemoryMb: memory,
    redisCommands: diffCommandStats(window.statsBefore, statsAfter),
    slowlog,
    windowUs: { fromUs: window.fromUs, toUs },
  };
}

/** Stops the fleet (profiles are written on exit) and summarises its CPU profiles. */
async function stopFleet(
  run: FleetRun,
  windowUs: { fromUs: number; toUs: number },
): Promise<Record<string, unknown> | undefined> {
  const stopped = run.services;
  run.services = [];
  await stopServices(stopped);
  return run.fo.profileDir ? collectProfiles(run.fo.profileDir, stopped, windowUs) : undefined;
}

/** Whatever is still open or running; the namespace and database unless --keep. */
async function cleanUp(run: FleetRun): Promise<void> {
  await run.collateral?.stop().catch(() => {});
  for (const p of run.producers) p.disconnect();
  await stopServices(run.services);
  if (!run.o.keep) {
    await deleteNamespace(run.admin, run.namespace).catch(() => {});
    await dropDatabase(run.o.mysqlUrl, run.db).catch(() => {});
  }
  run.admin.disconnect();
  run.poller.disconnect();
}

type FleetFigures = Omit<RunResult, 'loadavgStart' | 'loadavgEnd' | 'startedAt' | 'notes'>;

/** The run's figures (docs/benchmarks.md, "What each figure means"); adds its notes. */
function fleetResult(
  run: FleetRun,
  r: {
    warmUp: number;
    load: Load;
    drainedAt: number | null;
    measured: Measured;
    tally: OutcomeTally;
    checks: FleetChecks;
    profiles: Record<string, unknown> | undefined;
  },
): FleetFigures {
  const { o, fo } = run;
  const { tally, checks, measured, drainedAt } = r;
  const { xaddMs } = r.load;
  const rate = fo.ratePerSec;
  const n = xaddMs.length;
  const { firstSend, lastSend } = sendSpan(xaddMs);
  const wallMs = tally.lastAt - firstSend;
  run.notes.push(
    `warm-up: ${r.warmUp} reserves on ${WARMUP_SKU} before the window, excluded from the figures`,
    `${o.producers} producer connections, ${r.load.chunk} XADDs per pipeline${rate !== undefined ? `, paced to ${rate}/s` : ', unpaced'}`,
  );
  if (Object.keys(o.fleetEnv).length) run.notes.push(`fleet env: ${JSON.stringify(o.fleetEnv)}`);
  return {
    system: 'A',
    variant: fo.cluster
      ? `fleet-${fo.cluster.shards.length}-shard${fo.cluster.shards.length > 1 ? 's' : ''}`
      : rate !== undefined
        ? `fleet@${Math.round((fo.fraction ?? 0) * 100)}%`
        : 'fleet',
    buyers: n,
    decisions: tally.accepted + tally.rejected,
    accepted: tally.accepted,
    rejected: tally.rejected,
    byReason: tally.byReason,
    unitsTaken: tally.unitsTaken,
    wallMs,
    decisionsPerSec: perSecond(tally.accepted + tally.rejected, wallMs),
    throughputDefinition: 'decisions ÷ (last outcome `at` − first XADD id ms), Redis clock',
    latencyMs: summarize(tally.latency),
    latencyTimeline: latencyTimeline(xaddMs, tally.latency, firstSend),
    latencyDefinition:
      rate !== undefined
        ? 'per event: outcome `at` − the checkout:events entry id ms (Redis clock), producers paced'
        : 'per event: outcome `at` − the checkout:events entry id ms (Redis clock); unpaced producers, so mostly queueing behind the backlog',
    oversells: checks.stock.oversells,
    oversoldUnits: checks.stock.oversoldUnits,
    violations: checks.violations.slice(0, 50),
    variance: checks.variance,
    drainMs: drainedAt === null ? null : Math.max(0, drainedAt - tally.lastAt),
    drainAfterLastSendMs: drainedAt === null ? null : Math.max(0, drainedAt - lastSend),
    sendRatePerSec: perSecond(n, lastSend - firstSend),
    ...(rate !== undefined
      ? {
          targetRatePerSec: rate,
          producerLatenessMs: summarize(
            xaddMs.map((ms, i) => ms - (firstSend + (i / rate) * 1000)),
          ),
        }
      : {}),
    processes: measured.processes,
    machineCpu: measured.machineCpu,
    serviceMemoryMb: measured.serviceMemoryMb,
    redisCommands: measured.redisCommands,
    slowlog: measured.slowlog,
    ...(r.profiles ? { profiles: r.profiles } : {}),
    truncated: false,
  };
}
