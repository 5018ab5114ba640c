/**
 * `holdfast demo`'s options: declared on its commander Command (./command.ts) with their
 * defaults and validation, and the DemoOptions the run gets once commander parsed them.
 * Kept free of the demo's heavy modules: the CLI loads this file for every command.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';

export interface DemoOptions {
  buyers: number;
  hotUnits: number;
  warmSkus: number;
  warmUnits: number;
  holdSeconds: number;
  producers: number;
  /** Buyers arriving per second across producers; 0 = as fast as the producers can XADD. */
  rate: number;
  out: string;
  progress: boolean;
  replicas: number;
  keep: boolean;
  /** Start a local Redis Cluster of the demo's own and run on 3 shards (docs/demo.md). */
  cluster: boolean;
}

/**
 * Arrival rate of the default demo: what the whole fleet (4 services, Redis, MariaDB and the
 * demo itself) sustains on a 2-core machine with margin (docs/demo.md, measured figures).
 * Faster than the fleet decides, the events queue up, confirms arrive after their holds
 * expired, and the report says so.
 */
export const DEFAULT_RATE = 2_500;

export const DEMO_DESCRIPTION =
  'The flash-sale demo: arms a promo, starts the fleet, replays a crowd of buyers, checks ' +
  'every invariant of the contract and writes a JSON and an HTML report.';

export const DEMO_HELP_AFTER = `
Where it runs (environment, as for the services):
  REDIS_URL            default redis://127.0.0.1:6379
  HOLDFAST_NAMESPACE   default: a fresh demo-<timestamp>: namespace (deleted at the end unless
                       --keep); a namespace you set must be empty and is kept
  MYSQL_URL            default mysql://root@127.0.0.1:3306/holdfast_demo, dropped and recreated;
                       a database you name must have no books yet (holdfast_demo is always
                       recreated)
  HOLDFAST_SHARDS      the deployment's shards, comma-separated (default main; with --cluster
                       three shards, one per primary)
  REDIS_CLUSTER_NODES  host:port seeds of a Redis Cluster (default: the one Redis at REDIS_URL;
                       not with --cluster, which starts its own)

Writes <out>/demo-<timestamp>/{report.json,report.html,fleet.log}.
Exit codes: 0 every invariant holds · 1 an invariant failed or the run failed · 2 usage or
configuration error · 130 interrupted (Ctrl-C)`;

function intIn(min: number, max: number) {
  return (v: string) => {
    if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
      throw new InvalidArgumentError(`must be an integer ${min}–${max}`);
    }
    return Number(v);
  };
}

const int = (flags: string, what: string, dflt: number, min: number, max: number) =>
  new Option(flags, what).default(dflt).argParser(intIn(min, max));

/** Declares the demo's options on `cmd` (in the order `--help` lists them). */
export function declareDemoOptions(cmd: Command): Command {
  return cmd
    .addOption(int('--buyers <n>', 'checkouts in the crowd', 200_000, 1, 10_000_000))
    .addOption(int('--hot-units <n>', 'units of HOT-1 (per-user limit 2)', 100, 1, 1_000_000_000))
    .addOption(int('--warm-skus <n>', 'warm SKUs WARM-1..N (per-user limit 5)', 50, 1, 10_000))
    .addOption(int('--warm-units <n>', 'units of each warm SKU', 2_000, 1, 1_000_000_000))
    .addOption(
      int(
        '--hold-seconds <s>',
        'hold length (short, so abandoned holds expire during the demo)',
        5,
        1,
        3_600,
      ),
    )
    .addOption(int('--producers <n>', 'producer connections', 4, 1, 64))
    .addOption(
      int(
        '--rate <n>',
        'buyers arriving per second, reached at once (0 = as fast as the producers can send)',
        DEFAULT_RATE,
        0,
        10_000_000,
      ),
    )
    .addOption(new Option('--out <dir>', 'report directory').default('reports/'))
    .option('--no-progress', 'no live progress bars (phase lines only)')
    .addOption(int('--replicas <n>', 'replicas of each service', 1, 1, 16))
    .option('--keep', 'keep the demo namespace in Redis afterwards (for holdfast stock show etc.)')
    .option(
      '--cluster',
      'start a local Redis Cluster (3 primaries, redis-server) and run on 3 shards, one per ' +
        'primary; its nodes are stopped at the end',
    );
}

/** The options commander parsed, with the flags as booleans. */
export function demoOptions(parsed: Record<string, unknown>): DemoOptions {
  const o = parsed as unknown as DemoOptions;
  return {
    ...o,
    keep: o.keep === true,
    progress: o.progress !== false,
    cluster: o.cluster === true,
  };
}
