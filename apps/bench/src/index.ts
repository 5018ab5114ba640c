/**
 * The holdfast benchmark: `holdfast bench` / `pnpm bench` (./command.ts is the CLI's
 * subcommand; this is what it runs). One run on one machine, side by side per scenario: A the
 * fleet end to end, B the naive MySQL-only checkout, C the Lua gate straight at Redis. See
 * docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CommanderError } from 'commander';
import { REPO_ROOT, redactUrl } from '@holdfast/shared';
import { EXIT, errorMessage } from '@holdfast/shared/tools';
import { killLiveServices } from './fleet.js';
import { LoadSampler, gitState, loadNow, machineInfo } from './machine.js';
import { renderMarkdown } from './markdown.js';
import { parseBenchArgs, type BenchOptions } from './options.js';
import { setBenchRedisPid } from './proc.js';
import { runFailures, targets } from './report.js';
import { runScenario } from './scenario.js';
import { SCENARIOS } from './scenarios.js';
import { benchSummary } from './summary.js';
import { runShardComparison } from './shard-comparison.js';
import type { BenchReport, ScenarioReport, ShardComparison } from './types.js';

export type { BenchReport, RunResult, ScenarioReport } from './types.js';

export interface RunOutput {
  code: number;
  report?: BenchReport;
  dir?: string;
}

export interface BenchIo {
  /** No progress lines and no markdown on the terminal (tests). */
  quiet?: boolean;
}

/** Parses `args` and runs the benchmark; returns the exit code and the report (tests use the latter). */
export async function runBench(args: string[], io: BenchIo = {}): Promise<RunOutput> {
  let parsed: ReturnType<typeof parseBenchArgs>;
  try {
    parsed = parseBenchArgs(args);
  } catch (err) {
    // commander printed the help or the usage error already.
    if (err instanceof CommanderError) return { code: err.exitCode === 0 ? EXIT.ok : EXIT.usage };
    throw err;
  }
  return runWithOptions(parsed.options, parsed.args, io);
}

/** `pnpm --filter @holdfast/bench bench` entry: the exit code (0 ok, 1 FAILED, 2 usage). */
export async function run(args: string[]): Promise<number> {
  return (await runBench(args)).code;
}

/** Set by SIGINT/SIGTERM: no further run starts. */
let interrupted = false;

/** Runs the benchmark with parsed options; `args` is its command line, for the report. */
export async function runWithOptions(
  o: BenchOptions,
  args: string[],
  io: BenchIo = {},
): Promise<RunOutput> {
  const t0 = Date.now();
  const dir = resolve(o.out ?? join('reports', `bench-${stamp(new Date(t0))}`));
  mkdirSync(dir, { recursive: true });
  const load = new LoadSampler();
  load.start();
  const stopHandlingSignals = handleSignals();
  try {
    return await runAll(o, { dir, t0, load, args, io });
  } finally {
    load.stop();
    stopHandlingSignals();
  }
}

/** An interrupted run takes the services it started with it. */
function handleSignals(): () => void {
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
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
}

interface Session {
  dir: string;
  t0: number;
  load: LoadSampler;
  args: string[];
  io: BenchIo;
}

async function runAll(o: BenchOptions, s: Session): Promise<RunOutput> {
  const log = progressLog(s);
  let machine: Record<string, unknown>;
  try {
    machine = await describeMachine(o);
  } catch (err) {
    process.stderr.write(`bench: cannot reach Redis or MySQL: ${errorMessage(err)}\n`);
    return { code: EXIT.failed };
  }
  log(
    o.shards === 'only'
      ? `the shard comparison only, report in ${s.dir}`
      : `scale ${o.scale}, scenarios ${o.scenarios.join(',')}, systems ${o.only.join(',')}, report in ${s.dir}`,
  );
  const ctx = { o, dir: s.dir, log, interrupted: () => interrupted };
  const scenarios: ScenarioReport[] = [];
  if (o.shards !== 'only')
    for (const id of o.scenarios) scenarios.push(await runScenario(SCENARIOS[id]!(o.scale), ctx));
  const shards =
    o.shards === 'off' || interrupted ? null : await runShardComparison(o, log, () => interrupted);
  s.load.stop();
  const report = buildReport(o, s, machine, scenarios, shards);
  writeReport(s.dir, report, s.io);
  return { code: report.status === 'FAILED' ? EXIT.failed : EXIT.ok, report, dir: s.dir };
}

/** `[bench +12s load 1.93] …` on stderr, unless quiet. */
function progressLog(s: Session): (msg: string) => void {
  return (msg) => {
    if (s.io.quiet) return;
    const [l1] = loadNow();
    process.stderr.write(
      `[bench +${Math.round((Date.now() - s.t0) / 1000)}s load ${l1.toFixed(2)}] ${msg}\n`,
    );
  };
}

/** The machine, the servers and the checkout measured; names the benchmark's Redis process. */
async function describeMachine(o: BenchOptions): Promise<Record<string, unknown>> {
  const info = await machineInfo(o.redisUrl, o.mysqlUrl);
  setBenchRedisPid(info.redisPid);
  return { ...info, git: gitState(REPO_ROOT) };
}

function buildReport(
  o: BenchOptions,
  s: Session,
  machine: Record<string, unknown>,
  scenarios: ScenarioReport[],
  shards: ShardComparison | null,
): BenchReport {
  const failures = scenarios.flatMap((sc) => sc.runs.flatMap((r) => runFailures(sc.id, r)));
  failures.push(...(shards?.failures ?? []));
  const summary = benchSummary(o.rttMs, scenarios);
  return {
    version: 1,
    status: failures.length ? 'FAILED' : 'PASSED',
    failures,
    startedAt: new Date(s.t0).toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - s.t0) / 1000),
    command: `holdfast bench ${s.args.join(' ')}`.trim(),
    options: { ...o, redisUrl: redactUrl(o.redisUrl), mysqlUrl: redactUrl(o.mysqlUrl) },
    machine,
    load: { ...s.load.summary(), samples: s.load.samples },
    scenarios,
    targets: targets(scenarios, summary),
    summary,
    shards,
  };
}

/** report.json and report.md in `dir`; the markdown on stdout unless quiet. */
function writeReport(dir: string, report: BenchReport, io: BenchIo): void {
  const md = renderMarkdown(report);
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(dir, 'report.md'), md);
  if (!io.quiet) {
    process.stdout.write(md);
    process.stdout.write(`\nreport: ${join(dir, 'report.json')} and report.md\n`);
  }
}

/** Local time as YYYYMMDD-HHMMSS (the default report directory's name). */
function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}
