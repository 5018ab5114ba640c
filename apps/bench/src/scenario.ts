/**
 * One scenario of the benchmark: A at its max rate then paced at fractions of it, B's
 * variants, C — each run attempted on its own, so one that fails is reported and the others
 * still run.
 */
import { join } from 'node:path';
import { errorMessage } from '@holdfast/shared/tools';
import { runDirect } from './direct.js';
import { runFleet, type FleetRunOptions } from './fleet.js';
import { loadNow } from './machine.js';
import { runNaive } from './naive.js';
import type { BenchOptions } from './options.js';
import { setNetworkProcess } from './proc.js';
import { perDecisionUs, ratios, runsAt } from './report.js';
import { startRttNetwork } from './rtt-network.js';
import type { Scenario } from './scenarios.js';
import type { RunResult, ScenarioReport, System } from './types.js';

export interface SuiteContext {
  o: BenchOptions;
  /** The report directory (CPU profiles go to <dir>/profiles/). */
  dir: string;
  log: (msg: string) => void;
  /** True once the benchmark was interrupted: no further run starts. */
  interrupted: () => boolean;
  /** The --rtt-ms value the runs in progress are at. */
  rttMs?: number;
}

export async function runScenario(sc: Scenario, ctx: SuiteContext): Promise<ScenarioReport> {
  const { o, log } = ctx;
  log(`scenario ${sc.id} ${sc.name}: ${sc.description}`);
  const runs: RunResult[] = [];
  const network: NonNullable<ScenarioReport['network']> = [];
  for (const rttMs of o.rttMs) {
    if (ctx.interrupted()) break;
    const net = await startRttNetwork(rttMs, o.redisUrl, o.mysqlUrl);
    setNetworkProcess(net.pid, rttMs);
    let hold: Awaited<ReturnType<typeof net.stop>>;
    try {
      if (rttMs > 0) log(`  r = ${rttMs} ms: every connection through the delaying proxies`);
      // Every system's connections, setup included, go through this r's proxies.
      const atR = { ...ctx, rttMs, o: { ...o, redisUrl: net.redisUrl, mysqlUrl: net.mysqlUrl } };
      const before = runs.length;
      await runSystems(sc, atR, runs);
      for (const r of runs.slice(before)) r.rttMs = rttMs;
    } finally {
      setNetworkProcess(undefined);
      hold = await net.stop();
    }
    network.push({ rttMs, hold: hold ?? null });
  }
  const first = o.rttMs[0] ?? 0;
  return {
    id: sc.id,
    name: sc.name,
    description: sc.description,
    params: sc.params,
    runs,
    network,
    ratios: ratios(runsAt(runs, first)),
  };
}

/** A, B's variants and C at one network round trip. */
async function runSystems(sc: Scenario, ctx: SuiteContext, runs: RunResult[]): Promise<void> {
  const { o, log } = ctx;
  const collateral = collateralSpec(sc, o);
  if (o.only.includes('A')) await runA(sc, ctx, runs, collateral);
  if (o.only.includes('B')) {
    for (const v of o.bVariants) {
      const variant = v === 'conditional' ? 'conditional-update' : 'select-for-update';
      await attempt(ctx, sc, runs, 'B', variant, () => runNaive(sc, v, o, log, collateral));
    }
  }
  if (o.only.includes('C'))
    await attempt(ctx, sc, runs, 'C', 'lua-pipeline', () => runDirect(sc, o, log));
}

/** The shop's other traffic: reads of the scenario's first (scenario 1: only) SKU's row. */
function collateralSpec(sc: Scenario, o: BenchOptions) {
  if (!o.collateralReads && !o.collateralInserts) return undefined;
  return {
    sku: sc.stock[0]![0],
    readsPerSec: o.collateralReads,
    insertsPerSec: o.collateralInserts,
  };
}

/** A at its max rate, then a fresh fleet paced at each --latency-fraction of that rate. */
async function runA(
  sc: Scenario,
  ctx: SuiteContext,
  runs: RunResult[],
  collateral: FleetRunOptions['collateral'],
): Promise<void> {
  const { o, log } = ctx;
  const r = ctx.rttMs ? `-rtt${ctx.rttMs}ms` : '';
  const profileDir = (v: string) =>
    o.profile ? join(ctx.dir, 'profiles', `s${sc.id}${r}-${v}`) : undefined;
  const max = await attempt(ctx, sc, runs, 'A', 'fleet', () =>
    runFleet(sc, o, log, { profileDir: profileDir('max'), collateral }),
  );
  if (!max || !o.latencyRun || max.decisionsPerSec <= 0) return;
  for (const fraction of o.latencyFractions) {
    const ratePerSec = Math.max(1, Math.round(max.decisionsPerSec * fraction));
    const pct = Math.round(fraction * 100);
    await attempt(ctx, sc, runs, 'A', `fleet@${pct}%`, () =>
      runFleet(sc, o, log, {
        ratePerSec,
        fraction,
        profileDir: profileDir(`paced${pct}`),
        collateral,
      }),
    );
  }
}

/** Runs one system/variant, adds its result (or its failure) to `runs`. */
async function attempt(
  ctx: SuiteContext,
  sc: Scenario,
  runs: RunResult[],
  system: System,
  variant: string,
  fn: () => Promise<RunResult>,
): Promise<RunResult | undefined> {
  if (ctx.interrupted()) return undefined;
  const at = ctx.rttMs ? ` (r = ${ctx.rttMs} ms)` : '';
  const log = (m: string) => ctx.log(m + at);
  log(`  ${system} ${variant} …`);
  try {
    const r = await fn();
    r.perDecisionUs = perDecisionUs(r);
    runs.push(r);
    log(
      `  ${system} ${variant}: ${r.decisionsPerSec} decisions/s, p99 ${r.latencyMs.p99} ms, oversells ${r.oversells}` +
        (r.system === 'A' ? `, variance ${r.variance}, drain ${r.drainMs} ms` : ''),
    );
    return r;
  } catch (err) {
    log(`  ${system} ${variant} failed: ${(err as Error).stack ?? String(err)}`);
    runs.push(failedRun(system, variant, sc.buyers, err));
    return undefined;
  }
}

/** A run that could not be measured, with its error (no figures). */
export function failedRun(
  system: System,
  variant: string,
  buyers: number,
  err: unknown,
): RunResult {
  const l = loadNow();
  return {
    system,
    variant,
    buyers,
    decisions: 0,
    accepted: 0,
    rejected: 0,
    byReason: {},
    unitsTaken: 0,
    wallMs: 0,
    decisionsPerSec: 0,
    throughputDefinition: '',
    latencyMs: { count: 0, mean: null, p50: null, p99: null, p999: null, max: null },
    latencyDefinition: '',
    oversells: 0,
    oversoldUnits: 0,
    violations: [],
    processes: [],
    truncated: false,
    loadavgStart: l,
    loadavgEnd: l,
    startedAt: new Date().toISOString(),
    notes: [],
    error: errorMessage(err),
  };
}
