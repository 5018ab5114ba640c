/**
 * The fleet of the demo: all four services under the supervisor (startFleet), with the demo's
 * settings, their logs in fleet.log; a child that gives up fails the run.
 */
import { createWriteStream } from 'node:fs';
import { startFleet, type Fleet, type FleetEvent } from '@holdfast/fleet';
import { CliError } from '@holdfast/shared/tools';
import type { DemoContext } from '../context.js';
import type { DemoOptions } from '../options.js';
import type { DemoTarget } from './target.js';

/** The reserver's hold sweep: holds expire within their deadline plus this. */
export const SWEEP_INTERVAL_MS = 250;

/** The services' environment for the demo. */
export function fleetEnv(t: DemoTarget, o: DemoOptions): Record<string, string | undefined> {
  return {
    REDIS_URL: t.redisUrl,
    REDIS_CLUSTER_NODES: t.clusterNodes?.join(','),
    MYSQL_URL: t.mysqlUrl,
    HOLDFAST_NAMESPACE: t.namespace,
    HOLDFAST_SHARDS: t.keys.allShards.join(','),
    // Free ports: the demo can run next to a `holdfast fleet` on the default ones.
    METRICS_PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    RECONCILE_INTERVAL_MS: '1000',
    HOLD_DEFAULT_SECONDS: String(o.holdSeconds),
    HOLD_MIN_SECONDS: String(o.holdSeconds),
    SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
    // Every outcome stays readable for the checks (the namespace is the demo's own).
    OUTCOMES_MAXLEN: '0',
    CONSUMER_NAME: undefined,
  };
}

/** The settings the report shows: the demo's own, not where it runs. */
export function shownSettings(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([k, v]) => v !== undefined && !/URL|NAMESPACE|SHARD|CLUSTER/.test(k),
    ),
  ) as Record<string, string>;
}

/** Starts the fleet and waits until every child is up; returns the settings it runs with. */
export async function startDemoFleet(
  ctx: DemoContext,
  t: DemoTarget,
  files: { log: string; shortLog: string },
): Promise<Record<string, string>> {
  const env = fleetEnv(t, ctx.o);
  const log = (ctx.fleetLog = createWriteStream(files.log, { flags: 'a' }));
  ctx.io.out(
    `starting the fleet: ${ctx.o.replicas} × ingest, reserver, ledger-writer, reconciler (logs: ${files.shortLog})`,
  );
  const fleet = (ctx.fleet = startFleet({
    replicas: ctx.o.replicas,
    env,
    onLine: ({ child, line }) => void log.write(`[${child.name}] ${line}\n`),
    onEvent: (e) => onFleetEvent(ctx, e),
  }));
  await ctx.abortable(fleet.ready(90_000));
  return shownSettings(env);
}

/** Logs every supervisor event; warns on a crash; a child that gave up fails the run. */
function onFleetEvent(ctx: DemoContext, e: FleetEvent): void {
  const name = 'child' in e ? e.child.name : 'fleet';
  ctx.fleetLog?.write(
    `[supervisor] ${JSON.stringify({ event: e.type, child: name, ...('code' in e ? { code: e.code, signal: e.signal } : {}) })}\n`,
  );
  if (e.type === 'exit' && !ctx.fleet?.stopping) {
    ctx.say(
      `warning: ${name} exited (${e.signal ?? `code ${e.code}`}); the supervisor restarts it — see fleet.log`,
    );
  }
  if (e.type === 'gave-up') ctx.fail(new CliError(`${name} failed: ${e.reason} (see fleet.log)`));
}

/** Metrics ports of the running ledger-writers (for their rows-written counter). */
export function ledgerWriterPorts(fleet: Fleet): number[] {
  return fleet.children
    .filter((c) => c.service === 'ledger-writer' && c.metricsPort)
    .map((c) => c.metricsPort!);
}

/** Stops the fleet gracefully (SIGTERM, deadline, SIGKILL); how many were killed, restarts. */
export async function stopDemoFleet(
  ctx: DemoContext,
): Promise<{ killed: number; restarts: Record<string, number> }> {
  const fleet = ctx.fleet;
  if (!fleet) return { killed: 0, restarts: {} };
  const { killed } = await fleet.stop();
  ctx.fleet = undefined;
  return { killed, restarts: Object.fromEntries(fleet.children.map((c) => [c.name, c.restarts])) };
}
