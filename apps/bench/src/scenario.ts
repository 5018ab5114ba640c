/**
 * One scenario of the benchmark: A at its max rate then paced at fractions of it, B's
 * variants, C — each run attempted on its own, so one that fails is reported and the others
 * still run.
 */
import { join } from 'node:path';
import { errorMessage } from '@holdfast/shared/tools';
import { runDirect } from './direct.js';
import { runFleet } from './fleet.js';
import { loadNow } from './machine.js';
import { runNaive } from './naive.js';
import type { BenchOptions } from './options.js';
import { perDecisionUs, ratios } from './report.js';
import type { Scenario } from './scenarios.js';
import type { RunResult, ScenarioReport, System } from './types.js';

export interface SuiteContext {
  o: BenchOptions;
  /** The report directory (CPU profiles go to <dir>/profiles/). */
  dir: string;
  log: (msg: string) => void;
  /** True once the benchmark was interrupted: no further run starts. */
  interrupted: () => boolean;
}

export async function runScenario(sc: Scenario, ctx: SuiteContext): Promise<ScenarioReport> {
  const { o, log } = ctx;
  log(`scenario ${sc.id} ${sc.name}: ${sc.description}`);
  const runs: RunResult[] = [];
  if (o.only.includes('A')) await runA(sc, ctx, runs);
  if (o.only.includes('B')) {
    for (const v of o.bVariants) {
      const variant = v === 'conditional' ? 'conditional-update' : 'select-for-update';
      await attempt(ctx, sc, runs, 'B', variant, () => runNaive(sc, v, o, log));
    }
  }
  if (o.only.includes('C'))
    await attempt(ctx, sc, runs, 'C', 'lua-pipeline', () => runDirect(sc, o, log));
  return {
    id: sc.id,
    name: sc.name,
    description: sc.description,
    params: sc.params,
    runs,
    ratios: ratios(runs),
  };
}

/** A at its max rate, then a fresh fleet paced at each --latency-fraction of that rate. */
async function runA(sc: Scenario, ctx: SuiteContext, runs: RunResult[]): Promise<void> {
  const { o, log } = ctx;
  const profileDir = (v: string) =>
    o.profile ? join(ctx.dir, 'profiles', `s${sc.id}-${v}`) : undefined;
  const max = await attempt(ctx, sc, runs, 'A', 'fleet', () =>
    runFleet(sc, o, log, { profileDir: profileDir('max') }),
  );
  if (!max || !o.latencyRun || max.decisionsPerSec <= 0) return;
  for (const fraction of o.latencyFractions) {
    const ratePerSec = Math.max(1, Math.round(max.decisionsPerSec * fraction));
    const pct = Math.round(fraction * 100);
    await attempt(ctx, sc, runs, 'A', `fleet@${pct}%`, () =>
      runFleet(sc, o, log, { ratePerSec, fraction, profileDir: profileDir(`paced${pct}`) }),
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
  const { log } = ctx;
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
