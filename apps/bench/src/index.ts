/**
 * The holdfast benchmark: `holdfast bench` / `pnpm bench` (the CLI forwards here).
 * One run on one machine, side by side per scenario: A the fleet end to end, B the naive
 * MySQL-only checkout, C the Lua gate straight at Redis. See docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runDirect } from './direct.js';
import { killLiveServices, runFleet } from './fleet.js';
import { LoadSampler, gitState, loadNow, machineInfo } from './infra.js';
import { REPO_ROOT } from '@holdfast/shared';
import { runNaive } from './naive.js';
import { setBenchRedisPid } from './proc.js';
import { HELP, UsageError, parseOptions, type BenchOptions } from './options.js';
import { perDecisionUs, ratios, renderMarkdown, runFailures, targets } from './report.js';
import { SCENARIOS } from './scenarios.js';
import type { BenchReport, RunResult, ScenarioReport, System } from './types.js';

export type { BenchReport, RunResult, ScenarioReport } from './types.js';

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function failedRun(system: System, variant: string, buyers: number, err: unknown): RunResult {
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
    error: err instanceof Error ? err.message : String(err),
  };
}

/** Set by SIGINT/SIGTERM: no further run starts. */
let interrupted = false;

export interface RunOutput {
  code: number;
  report?: BenchReport;
  dir?: string;
}

/** Runs the benchmark; returns the exit code and the report (tests use the latter). */
export async function runBench(args: string[], io: { quiet?: boolean } = {}): Promise<RunOutput> {
  let o: BenchOptions;
  try {
    o = parseOptions(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n`);
      return { code: 2 };
    }
    throw err;
  }
  if (o.help) {
    process.stdout.write(HELP);
    return { code: 0 };
  }
  const t0 = Date.now();
  const dir = resolve(o.out ?? join('reports', `bench-${stamp(new Date(t0))}`));
  mkdirSync(dir, { recursive: true });
  const load = new LoadSampler();
  load.start();
  // An interrupted run takes the services it started with it.
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    process.stderr.write(`bench: ${sig}, stopping the services of the run in progress\n`);
    killLiveServices('SIGTERM');
    setTimeout(() => process.exit(130), 3_000).unref();
  };
  const onExit = () => killLiveServices('SIGKILL');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  try {
    return await runAll(o, dir, t0, load, args, io);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

async function runAll(
  o: BenchOptions,
  dir: string,
  t0: number,
  load: LoadSampler,
  args: string[],
  io: { quiet?: boolean },
): Promise<RunOutput> {
  const startedAt = new Date(t0).toISOString();
  const log = (msg: string) => {
    if (io.quiet) return;
    const [l1] = loadNow();
    process.stderr.write(
      `[bench +${Math.round((Date.now() - t0) / 1000)}s load ${l1.toFixed(2)}] ${msg}\n`,
    );
  };
  let machine: Record<string, unknown>;
  try {
    const info = await machineInfo(o.redisUrl, o.mysqlUrl);
    setBenchRedisPid(info.redisPid);
    machine = { ...info, git: gitState(REPO_ROOT) };
  } catch (err) {
    load.stop();
    process.stderr.write(`bench: cannot reach Redis or MySQL: ${(err as Error).message}\n`);
    return { code: 1 };
  }
  log(
    `scale ${o.scale}, scenarios ${o.scenarios.join(',')}, systems ${o.only.join(',')}, report in ${dir}`,
  );

  const scenarios: ScenarioReport[] = [];
  for (const id of o.scenarios) {
    const sc = SCENARIOS[id]!(o.scale);
    log(`scenario ${id} ${sc.name}: ${sc.description}`);
    const runs: RunResult[] = [];
    const attempt = async (system: System, variant: string, fn: () => Promise<RunResult>) => {
      if (interrupted) return undefined;
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
    };
    if (o.only.includes('A')) {
      const profileDir = (v: string) =>
        o.profile ? join(dir, 'profiles', `s${id}-${v}`) : undefined;
      const a = await attempt('A', 'fleet', () =>
        runFleet(sc, o, log, { profileDir: profileDir('max') }),
      );
      if (a && o.latencyRun && a.decisionsPerSec > 0) {
        for (const fraction of o.latencyFractions) {
          const rate = Math.max(1, Math.round(a.decisionsPerSec * fraction));
          const pct = Math.round(fraction * 100);
          await attempt('A', `fleet@${pct}%`, () =>
            runFleet(sc, o, log, {
              ratePerSec: rate,
              fraction,
              profileDir: profileDir(`paced${pct}`),
            }),
          );
        }
      }
    }
    if (o.only.includes('B')) {
      for (const v of o.bVariants) {
        await attempt('B', v === 'conditional' ? 'conditional-update' : 'select-for-update', () =>
          runNaive(sc, v, o, log),
        );
      }
    }
    if (o.only.includes('C')) await attempt('C', 'lua-pipeline', () => runDirect(sc, o, log));
    scenarios.push({
      id: sc.id,
      name: sc.name,
      description: sc.description,
      params: sc.params,
      runs,
      ratios: ratios(runs),
    });
  }
  load.stop();

  const failures = scenarios.flatMap((s) => s.runs.flatMap((r) => runFailures(s.id, r)));
  const report: BenchReport = {
    version: 1,
    status: failures.length ? 'FAILED' : 'PASSED',
    failures,
    startedAt,
    finishedAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - t0) / 1000),
    command: `holdfast bench ${args.join(' ')}`.trim(),
    options: { ...o, redisUrl: redact(o.redisUrl), mysqlUrl: redact(o.mysqlUrl) },
    machine,
    load: { ...load.summary(), samples: load.samples },
    scenarios,
    targets: targets(scenarios),
  };
  const md = renderMarkdown(report);
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(dir, 'report.md'), md);
  if (!io.quiet) {
    process.stdout.write(md);
    process.stdout.write(`\nreport: ${join(dir, 'report.json')} and report.md\n`);
  }
  return { code: report.status === 'FAILED' ? 1 : 0, report, dir };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** `holdfast bench` entry: returns the exit code (0 ok, 1 FAILED, 2 usage). */
export async function run(args: string[]): Promise<number> {
  return (await runBench(args)).code;
}
