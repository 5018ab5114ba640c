/**
 * A's services: ingest, reserver, ledger-writer and reconciler as child processes of the run
 * (@holdfast/fleet's startService: compiled, default configuration), waiting on them while
 * watching for a crash, what their memory is made of at the end, their CPU profiles, and the
 * ones still running when the benchmark is interrupted.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  scrapeMetric,
  startService,
  stopAll,
  type RunningService,
  type ServiceName,
} from '@holdfast/fleet';
import { summarizeProfile } from './profile.js';

const SERVICE_NAMES: ServiceName[] = ['ingest', 'reserver', 'ledger-writer', 'reconciler'];

/** Services of the run in progress, so an interrupted benchmark does not leave them running. */
const live = new Set<RunningService>();

/** Signals every service a run started and has not stopped yet (Ctrl-C, SIGTERM, crash). */
export function killLiveServices(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const s of live) {
    try {
      s.proc.kill(signal);
    } catch {
      /* gone */
    }
  }
}

/**
 * The services' environment: the run's servers and namespace, then --fleet-env; with a profile
 * directory, the V8 sampler hook (Node 20 refuses --cpu-prof in NODE_OPTIONS).
 */
export function serviceEnv(
  run: {
    redisUrl: string;
    mysqlUrl: string;
    namespace: string;
    shards?: readonly string[] | undefined;
    clusterNodes?: readonly string[] | undefined;
  },
  fleetEnv: Record<string, string>,
  profileDir: string | undefined,
): Record<string, string> {
  const env: Record<string, string> = {
    REDIS_URL: run.redisUrl,
    MYSQL_URL: run.mysqlUrl,
    HOLDFAST_NAMESPACE: run.namespace,
    LOG_LEVEL: 'info',
  };
  if (run.shards) env.HOLDFAST_SHARDS = run.shards.join(',');
  if (run.clusterNodes?.length) env.REDIS_CLUSTER_NODES = run.clusterNodes.join(',');
  Object.assign(env, fleetEnv);
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    const hook = fileURLToPath(new URL('./cpu-profile-hook.mjs', import.meta.url));
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${hook}`.trim();
    env.HOLDFAST_BENCH_CPU_PROF_DIR = resolve(profileDir);
  }
  return env;
}

/** Starts the four services at once; if one fails to start, stops the others and throws. */
export async function startServices(env: Record<string, string>): Promise<RunningService[]> {
  const started = await Promise.allSettled(
    SERVICE_NAMES.map((name) => startService(name, env, { startTimeoutMs: 90_000 })),
  );
  const services = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  for (const s of services) live.add(s);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stopServices(services);
    throw (failed as PromiseRejectedResult).reason;
  }
  return services;
}

/** SIGTERM, then wait for the exits (a service writes its CPU profile on exit). */
export async function stopServices(services: RunningService[]): Promise<void> {
  await stopAll(services);
  for (const s of services) live.delete(s);
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

/** Polls `probe` until true; throws at the deadline or as soon as a service has exited. */
export async function waitUntil(
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

/** What each service's memory is made of (prom-client's default metrics), MB. */
export async function serviceMemoryMb(
  services: RunningService[],
): Promise<Record<string, Record<string, number | null>>> {
  const out: Record<string, Record<string, number | null>> = {};
  const mb = (v: number | undefined) =>
    v === undefined ? null : Math.round((v / 1048576) * 10) / 10;
  for (const s of services) {
    const m = (name: string) => scrapeMetric(s.port, `holdfast_${name}`).catch(() => undefined);
    out[s.name] = {
      rss: mb(await m('process_resident_memory_bytes')),
      heapTotal: mb(await m('nodejs_heap_size_total_bytes')),
      heapUsed: mb(await m('nodejs_heap_size_used_bytes')),
      external: mb(await m('nodejs_external_memory_bytes')),
    };
  }
  return out;
}

/**
 * Summaries of the stopped services' CPU profiles, cut to the measurement window (µs,
 * process.hrtime's clock); one file per thread, the busiest kept.
 */
export function collectProfiles(
  profileDir: string,
  stopped: RunningService[],
  window: { fromUs: number; toUs: number },
): Record<string, unknown> {
  const profiles: Record<string, unknown> = {};
  const byPid = new Map(stopped.map((s) => [String(s.proc.pid), s.name]));
  for (const file of readdirSync(profileDir)) {
    const pid = /^CPU\.\d+\.\d+\.(\d+)\./.exec(file)?.[1];
    const name = pid ? byPid.get(pid) : undefined;
    if (!name || !file.endsWith('.cpuprofile')) continue;
    try {
      const s = summarizeProfile(join(profileDir, file), 15, window);
      const prev = profiles[name] as { busyMs?: number } | undefined;
      if (!prev || (prev.busyMs ?? 0) < s.busyMs) profiles[name] = s;
    } catch (err) {
      profiles[name] ??= { file, error: (err as Error).message };
    }
  }
  return profiles;
}
