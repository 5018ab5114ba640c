/**
 * `holdfast bench` / `pnpm bench` options, declared on a commander Command (./command.ts adds
 * it to the CLI; runBench parses a bare argument list with the same declarations). Light on
 * purpose: it loads nothing of the benchmark itself.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { System } from './types.js';

export type ShardsMode = 'compare' | 'only' | 'off';

export interface BenchOptions {
  scale: number;
  scenarios: number[];
  only: System[];
  out: string | undefined;
  producers: number;
  chunk: number;
  latencyRun: boolean;
  /** Fractions of A's max rate for the paced latency runs (default [0.8]). */
  latencyFractions: number[];
  bConnections: number;
  bVariants: Array<'conditional' | 'for-update'>;
  cConnections: number;
  cDepth: number;
  cPipeline: number;
  timeLimitS: number;
  profile: boolean;
  fleetEnv: Record<string, string>;
  redisUrl: string;
  mysqlUrl: string;
  keep: boolean;
  /**
   * The shard comparison (A on 1 shard vs 3 shards of a local Redis Cluster, one run each):
   * 'compare' after the scenarios, 'only' instead of them, 'off' not at all.
   */
  shards: ShardsMode;
  /** Scale of the comparison's workload (scenario 2), at most --scale. */
  shardsScale: number;
  /** Network round trips to add to every connection, ms, each a pass over the scenario's systems (default [0]). */
  rttMs: number[];
  /** The shop's other MySQL traffic during A and B: hot-row reads/s and order inserts/s (0 = none). */
  collateralReads: number;
  collateralInserts: number;
  /** Always false in a run (commander answers --help); kept so report.json's `options` keep their fields. */
  help: boolean;
}

/** What commander parses (its attribute names), before defaults from the environment. */
interface ParsedFlags {
  scale: number;
  scenarios: number[];
  only: System[];
  out?: string;
  producers: number;
  chunk: number;
  latencyRun: boolean;
  latencyFraction: number[];
  bConnections: number;
  bVariants: BenchOptions['bVariants'];
  cConnections: number;
  cDepth: number;
  cPipeline: number;
  timeLimit: number;
  profile?: true;
  fleetEnv?: Record<string, string>;
  redisUrl?: string;
  mysqlUrl?: string;
  keep?: true;
  shards: ShardsMode;
  shardsScale: number;
  rttMs: number[];
  collateralReads: number;
  collateralInserts: number;
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/';

const DESCRIPTION = `Runs the holdfast benchmark on this machine, side by side in one run:
  A  the fleet end to end (ingest, reserver, ledger-writer, reconciler)
  B  the naive MySQL-only checkout (one transaction per buyer, 64 connections)
  C  the reserver's Lua gate driven straight at Redis (the physical limit)
over three scenarios: 1 hot SKU, 2 uniform demand over 10,000 SKUs, 3 carts of
several lines. Writes report.json and report.md to --out, prints the markdown.`;

const HELP_AFTER = `
From the repository root: pnpm bench -- [options] (builds the services first).
Definitions of every figure: docs/benchmarks.md.
Exit codes: 0 ok · 1 FAILED (a run oversold, left a variance ≠ 0 or failed) · 2 usage error`;

function numberIn(min: number, max: number, int = false) {
  return (v: string): number => {
    const n = Number(v);
    const ok = v.trim() !== '' && Number.isFinite(n) && n >= min && n <= max;
    if (!ok || (int && !Number.isInteger(n)))
      throw new InvalidArgumentError(
        `must be ${int ? 'an integer' : 'a number'} in ${min}..${max}`,
      );
    return n;
  };
}

/** A comma-separated list: trimmed, empty items dropped, at least one item. */
function listOf<T>(item: (s: string) => T) {
  return (v: string): T[] => {
    const items = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!items.length) throw new InvalidArgumentError('no value given');
    return [...new Set(items.map(item))];
  };
}

const scenarioList = (v: string) => listOf(numberIn(1, 3, true))(v).sort((a, b) => a - b);

function systemList(v: string): System[] {
  const list = listOf((s) => s.toUpperCase())(v);
  for (const s of list)
    if (!['A', 'B', 'C'].includes(s))
      throw new InvalidArgumentError(`unknown system ${JSON.stringify(s)} (A, B, C)`);
  return (['A', 'B', 'C'] as const).filter((s) => list.includes(s));
}

const variantList = listOf((s) => {
  if (s !== 'conditional' && s !== 'for-update')
    throw new InvalidArgumentError(`unknown variant ${JSON.stringify(s)}`);
  return s;
});

function envEntry(kv: string, previous: Record<string, string> = {}): Record<string, string> {
  const i = kv.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`expects KEY=VALUE, got ${JSON.stringify(kv)}`);
  return { ...previous, [kv.slice(0, i)]: kv.slice(i + 1) };
}

/**
 * A Command that ignores `--` (pnpm forwards it: `pnpm bench -- --scale 0.05`) and remembers
 * the arguments it parsed (the report's `command`).
 */
export class BenchCommand extends Command {
  given: string[] = [];

  override parseOptions(argv: string[]) {
    this.given = argv.filter((a) => a !== '--');
    return super.parseOptions(this.given);
  }
}

const intOption = (flags: string, what: string, byDefault: number, max: number) =>
  new Option(flags, what).default(byDefault).argParser(numberIn(1, max, true));

/** What a run covers and where its report goes. */
const runOptions = () => [
  new Option('--scale <f>', 'multiply buyers / SKUs / units (0.05 for a quick run)')
    .default(1)
    .argParser(numberIn(0.0001, 100)),
  new Option('--scenario, --scenarios <list>', 'scenarios to run, e.g. 1 or 1,3')
    .default([1, 2, 3], '1,2,3')
    .argParser(scenarioList),
  new Option('--only <list>', 'systems to run, e.g. A,C')
    .default(['A', 'B', 'C'], 'A,B,C')
    .argParser(systemList),
  new Option('--out <dir>', 'report directory (default reports/bench-<timestamp>/)'),
  new Option(
    '--shards <mode>',
    'A on 1 shard vs 3 shards of a local Redis Cluster (scenario 2): compare = after the ' +
      'scenarios, only = instead of them, off',
  )
    .choices(['compare', 'only', 'off'])
    .default('compare'),
  new Option('--shards-scale <f>', 'scale of the shard comparison (never above --scale)')
    .default(0.2)
    .argParser(numberIn(0.0001, 100)),
];

/** What every system's connections go through: the network and the rest of the shop. */
const productionOptions = () => [
  new Option(
    '--rtt-ms <list>',
    'network round trip added to every Redis and MySQL connection (a delaying proxy), ms, ' +
      'e.g. 0,0.5,1: each scenario runs its systems once per value',
  )
    .default([0], '0')
    .argParser((v) => listOf(numberIn(0, 1000))(v).sort((a, b) => a - b)),
  new Option(
    '--collateral-reads <n>',
    "A/B: the shop's product-page reads of the hot SKU's row per second during the run (0 = none)",
  )
    .default(200)
    .argParser(numberIn(0, 10_000, true)),
  new Option(
    '--collateral-inserts <n>',
    'A/B: inserts of unrelated orders per second during the run (0 = none)',
  )
    .default(50)
    .argParser(numberIn(0, 10_000, true)),
];

const fleetOptions = () => [
  intOption('--producers <n>', 'A: producer connections', 4, 64),
  intOption('--chunk <n>', 'A: XADDs per producer pipeline', 500, 10_000),
  new Option(
    '--no-latency-run',
    "A: skip the rate-limited run at --latency-fraction of A's max rate",
  ),
  new Option(
    '--latency-fraction <list>',
    "A: paced latency runs at these fractions of A's max rate",
  )
    .default([0.8], '0.8')
    .argParser(listOf(numberIn(0.01, 1))),
  new Option(
    '--profile',
    'A: CPU-profile the services (V8 sampler; <out>/profiles/, summary in the JSON)',
  ),
  new Option('--fleet-env <K=V>', 'A: extra environment for the services (repeatable)').argParser(
    envEntry,
  ),
];

const naiveOptions = () => [
  intOption('--b-connections <n>', 'B: pool size = concurrent buyers', 64, 128),
  new Option('--b-variants <list>', 'B: conditional,for-update')
    .default(['conditional', 'for-update'], 'both')
    .argParser(variantList),
];

const gateOptions = () => [
  intOption('--c-connections <n>', 'C: Redis connections', 2, 64),
  intOption('--c-depth <n>', 'C: pipelines in flight per connection', 4, 64),
  intOption('--c-pipeline <n>', 'C: decisions per pipeline', 500, 10_000),
  new Option('--time-limit <s>', 'B/C: stop a run after S seconds (reported as truncated)')
    .default(900)
    .argParser(numberIn(1, 86_400)),
];

const serverOptions = () => [
  new Option('--redis-url <url>', `Redis server (default $REDIS_URL or ${DEFAULT_REDIS_URL})`),
  new Option(
    '--mysql-url <url>',
    'MySQL server; its database part is ignored, every run makes fresh databases ' +
      `(default $MYSQL_URL or ${DEFAULT_MYSQL_URL})`,
  ),
  new Option('--keep', 'keep the namespaces and databases (default: deleted after each run)'),
];

/** The benchmark's options on a command named `name`; exits through CommanderError. */
export function benchOptionsCommand(name: string): BenchCommand {
  const cmd = new BenchCommand(name)
    .summary('the benchmark: A the fleet vs B naive MySQL vs C the Lua gate (docs/benchmarks.md)')
    .description(DESCRIPTION)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .allowExcessArguments(false)
    .addHelpText('after', HELP_AFTER);
  const options = [
    ...runOptions(),
    ...productionOptions(),
    ...fleetOptions(),
    ...naiveOptions(),
    ...gateOptions(),
    ...serverOptions(),
  ];
  for (const option of options) cmd.addOption(option);
  return cmd;
}

/** The parsed options of `cmd`, server URLs defaulted from `env` and checked. */
export function benchOptionsOf(
  cmd: Command,
  env: Record<string, string | undefined> = process.env,
): BenchOptions {
  const f = cmd.opts<ParsedFlags>();
  const o: BenchOptions = {
    scale: f.scale,
    scenarios: f.scenarios,
    only: f.only,
    out: f.out,
    producers: f.producers,
    chunk: f.chunk,
    latencyRun: f.latencyRun,
    latencyFractions: f.latencyFraction,
    bConnections: f.bConnections,
    bVariants: f.bVariants,
    cConnections: f.cConnections,
    cDepth: f.cDepth,
    cPipeline: f.cPipeline,
    timeLimitS: f.timeLimit,
    profile: f.profile === true,
    fleetEnv: f.fleetEnv ?? {},
    redisUrl: f.redisUrl ?? (env.REDIS_URL || DEFAULT_REDIS_URL),
    mysqlUrl: f.mysqlUrl ?? (env.MYSQL_URL || DEFAULT_MYSQL_URL),
    keep: f.keep === true,
    shards: f.shards,
    shardsScale: f.shardsScale,
    rttMs: f.rttMs,
    collateralReads: f.collateralReads,
    collateralInserts: f.collateralInserts,
    help: false,
  };
  const usage = (message: string) =>
    cmd.error(message, { exitCode: 2, code: 'holdfast.bench.usage' });
  if (!/^rediss?:\/\//.test(o.redisUrl)) usage('error: --redis-url must be a redis:// URL');
  if (!/^(mysql|mariadb):\/\//.test(o.mysqlUrl)) usage('error: --mysql-url must be a mysql:// URL');
  return o;
}

/**
 * Parses a bare argument list (`runBench`, `pnpm --filter @holdfast/bench bench`). Help and
 * usage errors are printed by commander and thrown as CommanderError (exitCode 0 for --help).
 */
export function parseBenchArgs(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): { options: BenchOptions; args: string[] } {
  const cmd = benchOptionsCommand('holdfast bench');
  cmd.parse(args, { from: 'user' });
  return { options: benchOptionsOf(cmd, env), args: cmd.given };
}
