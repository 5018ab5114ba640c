/**
 * A — holdfast end to end: the four services as real processes (ingest, reserver,
 * ledger-writer, reconciler, each `node --import tsx apps/<svc>/src/main.ts` with its default
 * configuration) on a fresh namespace and a fresh MySQL database. Producers XADD reserves to
 * checkout:events from several pipelined connections; the run ends when every outcome is
 * written and the ledger-writer's group has nothing left (MySQL has every change).
 *
 * Clocks: the XADD entry id's ms and the outcome's `at` are both the Redis server clock, so
 * decision latency = outcome.at − event id ms needs no clock sync.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GROUPS, createRedis, streamIdMs, type Redis } from '@holdfast/shared';
import { createMysqlPool } from '@holdfast/shared/mysql';
import { booksMismatch, mysqlLedgerCounts, readMysqlStock } from '@holdfast/shared/inspect';
import { scrapeMetric, startService, type RunningService, type ServiceName } from '@holdfast/fleet';
import { reconcileAll } from '@holdfast/reconciler';
import {
  commandStats,
  createDatabase,
  deleteNamespace,
  diffCommandStats,
  dropDatabase,
  freshNamespace,
  groupBacklog,
  loadNow,
  randomId,
  redisNowMs,
  sleep,
  slowlogSince,
} from './infra.js';
import type { BenchOptions } from './options.js';
import { ProcessMonitor, benchProcess, serverProcesses } from './proc.js';
import { summarizeProfile } from './profile.js';
import { addUnits, armStock, checkRedisStock } from './redis-checks.js';
import { WARMUP_SKU, warmupSize, warmupStock, type Scenario } from './scenarios.js';
import { perSecond, summarize } from './stats.js';
import type { RunResult } from './types.js';

const SERVICE_NAMES: ServiceName[] = ['ingest', 'reserver', 'ledger-writer', 'reconciler'];

/** Services of the run in progress, so an interrupted benchmark does not leave them running. */
const live = new Set<RunningService>();

/** SIGTERMs every service a run started and has not stopped yet (Ctrl-C, SIGTERM, crash). */
export function killLiveServices(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const s of live) {
    try {
      s.proc.kill(signal);
    } catch {
      /* gone */
    }
  }
}

export interface FleetRunOptions {
  /** Reserves per second across producers; undefined = as fast as the producers can send. */
  ratePerSec?: number;
  /** The fraction of A's max rate `ratePerSec` is (names the variant). */
  fraction?: number;
  /** Directory for CPU profiles (profiling on when set). */
  profileDir?: string;
}

/** The producers' field lists, built before the clock starts. */
function producerFields(sc: Scenario): string[][] {
  return sc.carts.map((lines, i) => {
    const f = ['type', 'reserve', 'event_id', `r${i}`, 'checkout_id', `c${i}`, 'user_id', `u${i}`];
    if (lines.length === 1) f.push('sku', lines[0]![0], 'qty', String(lines[0]![1]));
    else f.push('lines', JSON.stringify(lines.map(([sku, qty]) => ({ sku, qty }))));
    return f;
  });
}

function crashed(services: RunningService[]): string | undefined {
  for (const s of services) {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) {
      const last = s.logs
        .filter((l) => Number(l.level) >= 50)
        .slice(-3)
        .map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? '')}`)
        .join('; ');
      return `${s.name} exited (${s.proc.exitCode ?? s.proc.signalCode})${last ? `: ${last}` : ''}`;
    }
  }
  return undefined;
}

async function waitUntil(
  what: string,
  timeoutMs: number,
  services: RunningService[],
  probe: () => Promise<boolean>,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    const c = crashed(services);
    if (c) throw new Error(`while waiting for ${what}: ${c}`);
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Latency by second of sending (when in the run the slow decisions were sent). */
function timeline(xaddMs: Float64Array, lat: Float64Array, firstSend: number) {
  const buckets = new Map<number, number[]>();
  for (let i = 0; i < xaddMs.length; i++) {
    if (Number.isNaN(lat[i]!)) continue;
    const s = Math.floor((xaddMs[i]! - firstSend) / 1000);
    let b = buckets.get(s);
    if (!b) buckets.set(s, (b = []));
    b.push(lat[i]!);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([second, v]) => {
      const x = summarize(v);
      return { second, sent: v.length, p50: x.p50, p99: x.p99, max: x.max };
    });
}

export async function runFleet(
  sc: Scenario,
  o: BenchOptions,
  log: (m: string) => void,
  fo: FleetRunOptions = {},
): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const loadavgStart = loadNow();
  const limited = fo.ratePerSec !== undefined;
  const { namespace, keys } = freshNamespace(`a${sc.id}`);
  const db = `hf_bench_${randomId()}`;
  const mysqlUrl = await createDatabase(o.mysqlUrl, db);
  const admin = createRedis(o.redisUrl, { name: 'bench-a-admin' });
  const poller = createRedis(o.redisUrl, { name: 'bench-a-poll' });
  const producers: Redis[] = [];
  let services: RunningService[] = [];
  const notes: string[] = [];
  try {
    const armed = [...sc.stock, warmupStock(sc.buyers)];
    await armStock(admin, keys, armed, 'a');
    const env: Record<string, string> = {
      REDIS_URL: o.redisUrl,
      MYSQL_URL: mysqlUrl,
      HOLDFAST_NAMESPACE: namespace,
      LOG_LEVEL: 'info',
      ...o.fleetEnv,
    };
    if (fo.profileDir) {
      // Node 20 refuses --cpu-prof in NODE_OPTIONS: an --import hook runs the profiler instead.
      mkdirSync(fo.profileDir, { recursive: true });
      const hook = fileURLToPath(new URL('./cpu-profile-hook.mjs', import.meta.url));
      env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${hook}`.trim();
      env.HOLDFAST_BENCH_CPU_PROF_DIR = resolve(fo.profileDir);
    }
    const started = await Promise.allSettled(
      SERVICE_NAMES.map((name) => startService(name, env, { startTimeoutMs: 90_000 })),
    );
    services = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    for (const s of services) live.add(s);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;

    // The restocks reach MySQL before the clock starts: the drain measured is the load's.
    const ledger = keys.shard().ledger;
    await waitUntil(
      'the restocks to reach MySQL',
      120_000,
      services,
      async () => (await groupBacklog(poller, ledger, GROUPS.ledgerWriter)) === 0,
      50,
    );

    const fields = producerFields(sc);
    const n = fields.length;
    const xaddMs = new Float64Array(n).fill(NaN);
    for (let i = 0; i < o.producers; i++)
      producers.push(createRedis(o.redisUrl, { name: `bench-producer-${i}` }));
    await Promise.all(producers.map((p) => p.ping()));

    // Warm-up (untimed): the freshly started services compile their hot paths.
    const w = warmupSize(sc.buyers);
    for (let from = 0, k = 0; from < w; from += o.chunk, k++) {
      const p = producers[k % producers.length]!.pipeline();
      for (let i = from; i < Math.min(w, from + o.chunk); i++) {
        p.xadd(
          keys.streams.events,
          '*',
          'type',
          'reserve',
          'event_id',
          `w${i}`,
          'checkout_id',
          `wc${i}`,
          'user_id',
          `wu${i}`,
          'sku',
          WARMUP_SKU,
          'qty',
          '1',
        );
      }
      await p.exec();
    }
    await waitUntil(
      'the warm-up',
      120_000,
      services,
      async () =>
        (await poller.xlen(keys.streams.outcomes)) >= w &&
        (await groupBacklog(poller, ledger, GROUPS.ledgerWriter)) === 0,
      20,
    );

    const monitor = new ProcessMonitor([
      ...services.map((s) => ({ name: s.name, pid: s.proc.pid!, kind: 'service' as const })),
      ...serverProcesses(),
      benchProcess(),
    ]);
    const statsBefore = await commandStats(admin);
    const slowSince = Math.floor((await redisNowMs(admin)) / 1000);
    monitor.start();
    const windowFromUs = Number(process.hrtime.bigint() / 1000n);

    // Producers: each takes the next chunk, XADDs it in one pipeline, waits for the replies.
    const chunk = limited
      ? Math.max(1, Math.min(o.chunk, Math.round(fo.ratePerSec! / 200)))
      : o.chunk;
    let next = 0;
    let sendError: unknown;
    const t0 = performance.now();
    const send = Promise.all(
      producers.map(async (r) => {
        while (next < n) {
          const from = next;
          const to = Math.min(n, from + chunk);
          next = to;
          if (limited) {
            const wait = t0 + (from / fo.ratePerSec!) * 1000 - performance.now();
            if (wait > 0) await sleep(wait);
          }
          const p = r.pipeline();
          for (let i = from; i < to; i++) p.xadd(keys.streams.events, '*', ...fields[i]!);
          const res = (await p.exec()) ?? [];
          for (let i = from; i < to; i++) {
            const [err, id] = res[i - from] ?? [new Error('no reply')];
            if (err) throw err;
            xaddMs[i] = streamIdMs(id as string);
          }
        }
      }),
    ).catch((err: unknown) => {
      sendError = err;
    });

    const decideTimeout = Math.max(300_000, (n / 200) * 1000);
    await waitUntil('every outcome', decideTimeout, services, async () => {
      if (sendError) throw sendError;
      return (await poller.xlen(keys.streams.outcomes)) >= n + w;
    });
    await send;
    log(
      `A ${sc.name}${limited ? ` @${fo.ratePerSec}/s` : ''}: every outcome written after ${Math.round(performance.now() - t0)} ms`,
    );

    let drainedAt: number | null = null;
    try {
      await waitUntil(
        'the ledger to drain',
        300_000,
        services,
        async () => (await groupBacklog(poller, ledger, GROUPS.ledgerWriter)) === 0,
        10,
      );
      drainedAt = await redisNowMs(poller);
    } catch (err) {
      notes.push(`ledger did not drain: ${(err as Error).message}`);
    }
    const processes = monitor.stop();
    const windowToUs = Number(process.hrtime.bigint() / 1000n);
    // What the services' memory is made of (prom-client's default metrics), at the end.
    const serviceMemoryMb: Record<string, Record<string, number | null>> = {};
    const mb = (v: number | undefined) =>
      v === undefined ? null : Math.round((v / 1048576) * 10) / 10;
    for (const s of services) {
      const m = (name: string) => scrapeMetric(s.port, `holdfast_${name}`).catch(() => undefined);
      serviceMemoryMb[s.name] = {
        rss: mb(await m('process_resident_memory_bytes')),
        heapTotal: mb(await m('nodejs_heap_size_total_bytes')),
        heapUsed: mb(await m('nodejs_heap_size_used_bytes')),
        external: mb(await m('nodejs_external_memory_bytes')),
      };
    }
    const statsAfter = await commandStats(admin);
    const slowlog = await slowlogSince(admin, slowSince, namespace).catch(() => []);

    // Every outcome: latency, status, exactly one per event.
    const lat = new Float64Array(n).fill(NaN);
    const seen = new Uint8Array(n);
    const held = new Map<string, number>();
    const byReason: Record<string, number> = {};
    let accepted = 0;
    let rejected = 0;
    let unitsTaken = 0;
    let duplicates = 0;
    let foreign = 0;
    let warmAccepted = 0;
    let lastAt = 0;
    let start = '-';
    for (;;) {
      const page = (await admin.xrange(
        keys.streams.outcomes,
        start,
        '+',
        'COUNT',
        10_000,
      )) as Array<[string, string[]]>;
      for (const [, f] of page) {
        let ev = '';
        let status = '';
        let reason = '';
        let at = 0;
        for (let k = 0; k + 1 < f.length; k += 2) {
          const name = f[k];
          if (name === 'event_id') ev = f[k + 1]!;
          else if (name === 'status') status = f[k + 1]!;
          else if (name === 'reason') reason = f[k + 1]!;
          else if (name === 'at') at = Number(f[k + 1]);
        }
        if (/^w\d+$/.test(ev)) {
          if (status === 'reserved') warmAccepted += addUnits(held, [[WARMUP_SKU, 1]]);
          continue;
        }
        const i = ev.startsWith('r') ? Number(ev.slice(1)) : NaN;
        if (!Number.isInteger(i) || i < 0 || i >= n) {
          foreign++;
          continue;
        }
        if (seen[i]) {
          duplicates++;
          continue;
        }
        seen[i] = 1;
        lat[i] = at - xaddMs[i]!;
        lastAt = Math.max(lastAt, at);
        if (status === 'reserved') {
          accepted++;
          unitsTaken += addUnits(held, sc.carts[i]!);
        } else {
          rejected++;
          const k = reason || status;
          byReason[k] = (byReason[k] ?? 0) + 1;
        }
      }
      if (page.length < 10_000) break;
      start = `(${page[page.length - 1]![0]}`;
    }
    let firstSend = Infinity;
    let lastSend = 0;
    for (const v of xaddMs) {
      if (v < firstSend) firstSend = v;
      if (v > lastSend) lastSend = v;
    }

    const check = await checkRedisStock(admin, keys, armed, held);
    const violations = [...check.violations];
    const missing = n - accepted - rejected;
    if (missing) violations.push(`${missing} events without an outcome`);
    if (duplicates) violations.push(`${duplicates} events with more than one outcome`);
    if (foreign) violations.push(`${foreign} outcomes for events the benchmark did not send`);

    // MySQL: variance (the reconciler's own computation), the books row by row, the ledger rows.
    let variance: number | null = null;
    const pool = createMysqlPool(mysqlUrl, { connectionLimit: 2 });
    try {
      const reports = await reconcileAll(admin, pool, keys);
      variance = reports.reduce((s, r) => s + r.totalAbsVariance, 0);
      if (variance !== 0) {
        const v = reports.flatMap((r) => r.variances).slice(0, 5);
        violations.push(`reconcile variance ${variance}: ${JSON.stringify(v)}`);
      }
    } catch (err) {
      violations.push(`reconcileAll failed: ${(err as Error).message}`);
    } finally {
      await pool.end().catch(() => {});
    }
    if (drainedAt !== null) {
      const mismatch = booksMismatch(check.rows, await readMysqlStock(mysqlUrl));
      if (mismatch.length)
        violations.push(
          `MySQL books ≠ Redis on ${mismatch.length} SKUs: ${mismatch.slice(0, 3).join('; ')}`,
        );
      const counts = await mysqlLedgerCounts(mysqlUrl);
      if ((counts.byKind.reserve ?? 0) !== accepted + warmAccepted) {
        violations.push(
          `${counts.byKind.reserve ?? 0} reserve changes in MySQL, ${accepted} + ${warmAccepted} (warm-up) accepted`,
        );
      }
    } else {
      violations.push('ledger not drained: MySQL books not checked');
    }

    // Stop the fleet (profiles are written on exit).
    const stopped = services;
    services = [];
    await Promise.allSettled(stopped.map((s) => s.kill('SIGTERM')));
    for (const s of stopped) live.delete(s);
    let profiles: Record<string, unknown> | undefined;
    if (fo.profileDir) {
      profiles = {};
      const byPid = new Map(stopped.map((s) => [String(s.proc.pid), s.name]));
      for (const file of readdirSync(fo.profileDir)) {
        const pid = /^CPU\.\d+\.\d+\.(\d+)\./.exec(file)?.[1];
        const name = pid ? byPid.get(pid) : undefined;
        if (!name || !file.endsWith('.cpuprofile')) continue;
        try {
          // One file per thread (tsx's loader hooks have their own): keep the busiest.
          const s = summarizeProfile(join(fo.profileDir, file), 15, {
            fromUs: windowFromUs,
            toUs: windowToUs,
          });
          const prev = profiles[name] as { busyMs?: number } | undefined;
          if (!prev || (prev.busyMs ?? 0) < s.busyMs) profiles[name] = s;
        } catch (err) {
          profiles[name] ??= { file, error: (err as Error).message };
        }
      }
    }

    const wallMs = lastAt - firstSend;
    notes.push(
      `warm-up: ${w} reserves on ${WARMUP_SKU} before the window, excluded from the figures`,
    );
    notes.push(
      `${o.producers} producer connections, ${chunk} XADDs per pipeline${limited ? `, paced to ${fo.ratePerSec}/s` : ', unpaced'}`,
    );
    if (Object.keys(o.fleetEnv).length) notes.push(`fleet env: ${JSON.stringify(o.fleetEnv)}`);
    return {
      system: 'A',
      variant: limited ? `fleet@${Math.round((fo.fraction ?? 0) * 100)}%` : 'fleet',
      buyers: n,
      decisions: accepted + rejected,
      accepted,
      rejected,
      byReason,
      unitsTaken,
      wallMs,
      decisionsPerSec: perSecond(accepted + rejected, wallMs),
      throughputDefinition: 'decisions ÷ (last outcome `at` − first XADD id ms), Redis clock',
      latencyMs: summarize(lat),
      latencyTimeline: timeline(xaddMs, lat, firstSend),
      latencyDefinition: limited
        ? 'per event: outcome `at` − the checkout:events entry id ms (Redis clock), producers paced'
        : 'per event: outcome `at` − the checkout:events entry id ms (Redis clock); unpaced producers, so mostly queueing behind the backlog',
      oversells: check.oversells,
      oversoldUnits: check.oversoldUnits,
      violations: violations.slice(0, 50),
      variance,
      drainMs: drainedAt === null ? null : Math.max(0, drainedAt - lastAt),
      drainAfterLastSendMs: drainedAt === null ? null : Math.max(0, drainedAt - lastSend),
      sendRatePerSec: perSecond(n, lastSend - firstSend),
      ...(limited
        ? {
            targetRatePerSec: fo.ratePerSec!,
            producerLatenessMs: summarize(
              xaddMs.map((ms, i) => ms - (firstSend + (i / fo.ratePerSec!) * 1000)),
            ),
          }
        : {}),
      processes,
      machineCpu: monitor.machine,
      serviceMemoryMb,
      redisCommands: diffCommandStats(statsBefore, statsAfter),
      slowlog,
      ...(profiles ? { profiles } : {}),
      truncated: false,
      loadavgStart,
      loadavgEnd: loadNow(),
      startedAt,
      notes,
    };
  } finally {
    for (const p of producers) p.disconnect();
    await Promise.allSettled(services.map((s) => s.kill('SIGTERM')));
    for (const s of services) live.delete(s);
    if (!o.keep) {
      await deleteNamespace(admin, namespace).catch(() => {});
      await dropDatabase(o.mysqlUrl, db).catch(() => {});
    }
    admin.disconnect();
    poller.disconnect();
  }
}
