/**
 * `holdfast demo`: the flash-sale simulation (docs/demo.md), phase by phase:
 *
 *   1. set the sale up (./setup): migrate MySQL, arm the promo through inventory:admin, start
 *      the fleet (child logs to <out>/demo-<ts>/fleet.log);
 *   2. run the crowd (./crowd), watched (./observe): taps, a sample every 250 ms, live progress;
 *   3. settle: every abandoned hold expired and every stream drained;
 *   4. check the invariants (./check): read the end state, one verdict per invariant;
 *   5. render (./render): build the report from the verdicts, stop the fleet, write
 *      report.json and report.html, print the summary. Exit 0 iff every invariant holds.
 */
import { loadavg } from 'node:os';
import { redactUrl } from '@holdfast/shared';
import { CliError, EXIT, errorMessage } from '@holdfast/shared/tools';
import { readEndState } from './check/end-state.js';
import { checkInvariants } from './check/invariants.js';
import { DemoContext, Interrupted } from './context.js';
import { demandOf, type CrowdShape } from './crowd/carts.js';
import { replayCrowd, type CrowdRun } from './crowd/replay.js';
import type { Observation } from './observation.js';
import type { Observers } from './observe/observers.js';
import { settle } from './observe/settle.js';
import type { DemoOptions } from './options.js';
import { buildReport, type DemoReport } from './render/report.js';
import { renderText } from './render/text.js';
import { reportFiles, shortPath, writeReports, type ReportFiles } from './render/write.js';
import { startDemoCluster, type DemoClusterInfo } from './setup/cluster.js';
import { SWEEP_INTERVAL_MS, stopDemoFleet } from './setup/fleet.js';
import { adminByKind, armedUnits } from './setup/promo.js';
import { setUpSale, type SaleSetup } from './setup/set-up.js';
import { resolveTarget, timestamp, type DemoTarget } from './setup/target.js';

export type { DemoReport } from './render/report.js';
export type { DemoOptions } from './options.js';

/** Runs the demo with parsed options; resolves with the exit code (never throws). */
export async function runDemo(o: DemoOptions): Promise<number> {
  const ctx = new DemoContext(o, {
    out: (s) => void process.stdout.write(`${s}\n`),
    err: (s) => void process.stderr.write(`${s}\n`),
  });
  process.on('SIGINT', ctx.onSignal);
  process.on('SIGTERM', ctx.onSignal);
  try {
    return await play(ctx);
  } catch (caught) {
    return exitCodeOf(ctx, caught);
  } finally {
    await ctx.close();
    process.off('SIGINT', ctx.onSignal);
    process.off('SIGTERM', ctx.onSignal);
  }
}

/** Reports why the run stopped (one line on stderr) and picks the exit code. */
function exitCodeOf(ctx: DemoContext, caught: unknown): number {
  let e = caught;
  if (e instanceof Interrupted) {
    if (!ctx.fatal) return 130;
    e = ctx.fatal;
  }
  ctx.io.err(`holdfast demo: ${errorMessage(e)}`);
  return e instanceof CliError ? e.exitCode : EXIT.failed;
}

/** When each phase ended (epoch ms). */
interface Timeline {
  start: number;
  setUp: number;
  crowd: number;
  settled: number;
  checks: number;
}

/** The phases in order; resolves with the exit code. */
async function play(ctx: DemoContext): Promise<number> {
  const start = Date.now();
  const loadAvgAtStart = loadavg();
  const stamp = timestamp(new Date(start));
  // --cluster: the demo's own cluster first; its seeds and shards are then the environment.
  const own = ctx.o.cluster ? await startDemoCluster(ctx, process.env) : undefined;
  const target = (ctx.target = resolveTarget(stamp, { ...process.env, ...own?.env }));
  const files = reportFiles(ctx.o.out, stamp);

  const sale = await setUpSale(ctx, target, stamp, files);
  const setUp = Date.now();
  const { crowd, observers } = await replayCrowd(ctx, target, sale.placement);
  const crowdDone = Date.now();
  ctx.say(
    `crowd done in ${((crowdDone - crowd.startedAt) / 1000).toFixed(1)} s: ${crowd.result.sent.toLocaleString('en-US')} reserves, ` +
      `${crowd.result.followUps.toLocaleString('en-US')} follow-ups; waiting for abandoned holds to expire and the ledger to drain…`,
  );
  await settle(ctx, target, observers);
  const settled = Date.now();
  await observers.stop();

  ctx.io.out('checking the invariants…');
  const time: Timeline = { start, setUp, crowd: crowdDone, settled, checks: Date.now() };
  const observation = await collectObservation(ctx, target, sale, crowd, observers);
  const report = buildReport({
    ...observation,
    verdicts: checkInvariants(observation),
    ...runFacts(ctx, target, sale, { startedAt: start, loadAvgAtStart }, own?.info),
    durations: durations(time),
  });
  return finish(ctx, target, report, files);
}

/** Everything the run observed: the taps, the sampler, the end state, what was armed and sent. */
async function collectObservation(
  ctx: DemoContext,
  target: DemoTarget,
  sale: SaleSetup,
  crowd: CrowdRun,
  obs: Observers,
): Promise<Observation> {
  const end = await readEndState(ctx, target);
  const shape: CrowdShape = {
    buyers: ctx.o.buyers,
    warmSkus: ctx.o.warmSkus,
    placement: sale.placement,
  };
  const { sampler } = obs;
  return {
    ...end,
    options: ctx.o,
    armed: armedUnits(sale.promo),
    adminByKind: adminByKind(sale.promo),
    demand: demandOf(shape),
    placement: sale.placement,
    crowd: crowd.result,
    users: crowd.users,
    crowdStartedAt: crowd.startedAt,
    sendDoneAt: crowd.sendDoneAt,
    outcomes: obs.outcomes,
    xaddMs: obs.events.xaddMs,
    eventsSeen: obs.events.count,
    samples: sampler.samples,
    samplerT0: sampler.t0,
    sampleIntervalMs: sampler.intervalMs,
    stockSamples: sampler.stockSamples,
    sampledBreaches: sampler.breaches,
    hotSoldOutAt: sampler.hotSoldOutAt,
    audit: sampler.audit,
    sweepIntervalMs: SWEEP_INTERVAL_MS,
  };
}

/** Where it ran and the fleet's settings, as the report shows them. */
function runFacts(
  ctx: DemoContext,
  target: DemoTarget,
  sale: SaleSetup,
  at: { startedAt: number; loadAvgAtStart: number[] },
  cluster: DemoClusterInfo | undefined,
): Pick<DemoReport, 'target' | 'fleet'> & { loadAvgAtStart: number[]; startedAt: number } {
  return {
    ...at,
    target: {
      redis: target.clusterNodes
        ? `Redis Cluster ${target.clusterNodes.join(',')}`
        : redactUrl(target.redisUrl),
      cluster: cluster ?? null,
      mysql: redactUrl(target.mysqlUrl),
      namespace: target.namespace,
      namespaceDeleted: false,
      database: target.database,
      databaseRecreated: target.recreateDatabase,
      shards: target.shards,
    },
    fleet: { replicas: ctx.o.replicas, env: sale.fleetSettings, restarts: {}, killedOnStop: 0 },
  };
}

function durations(t: Timeline): DemoReport['durations'] {
  const now = Date.now();
  return {
    setupMs: t.setUp - t.start,
    crowdMs: t.crowd - t.setUp,
    settleMs: t.settled - t.crowd,
    checksMs: now - t.checks,
    totalMs: now - t.start,
  };
}

/** Stops the fleet (the report is complete), writes both reports, prints the summary. */
async function finish(
  ctx: DemoContext,
  target: DemoTarget,
  report: DemoReport,
  files: ReportFiles,
): Promise<number> {
  const stopped = await stopDemoFleet(ctx);
  report.fleet.killedOnStop = stopped.killed;
  report.fleet.restarts = stopped.restarts;
  report.target.namespaceDeleted = target.ownNamespace && !ctx.o.keep;
  await writeReports(report, files);
  ctx.io.out(
    renderText(report, {
      html: shortPath(files.html),
      json: shortPath(files.json),
      log: shortPath(files.log),
    }),
  );
  if (stopped.killed)
    ctx.io.err(`warning: ${stopped.killed} fleet child(ren) did not stop in time and were killed`);
  return report.ok ? EXIT.ok : EXIT.failed;
}
