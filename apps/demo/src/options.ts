/** `holdfast demo` options (commander), and where the demo runs (namespace, database). */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

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
}

function intIn(min: number, max: number) {
  return (v: string) => {
    if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
      throw new InvalidArgumentError(`must be an integer ${min}–${max}`);
    }
    return Number(v);
  };
}

/**
 * Arrival rate of the default demo: what the whole fleet (4 services, Redis, MariaDB and the
 * demo itself) sustains on a 2-core machine with margin (docs/demo.md, measured figures).
 * Faster than the fleet decides, the events queue up, confirms arrive after their holds
 * expired, and the report says so.
 */
export const DEFAULT_RATE = 2_500;

const HELP_AFTER = `
Where it runs (environment, as for the services):
  REDIS_URL            default redis://127.0.0.1:6379
  HOLDFAST_NAMESPACE   default: a fresh demo-<timestamp>: namespace (deleted at the end unless
                       --keep); a namespace you set must be empty and is kept
  MYSQL_URL            default mysql://root@127.0.0.1:3306/holdfast_demo, dropped and recreated;
                       a database you name must have no books yet (holdfast_demo is always
                       recreated)
  HOLDFAST_SHARD       default main

Writes <out>/demo-<timestamp>/{report.json,report.html,fleet.log}.
Exit codes: 0 every invariant holds · 1 an invariant failed or the run failed · 2 usage or
configuration error · 130 interrupted (Ctrl-C)`;

/** Parses the demo's arguments; throws CommanderError for help/usage (already printed). */
export function parseDemoArgs(
  argv: string[],
  write: { out: (s: string) => void; err: (s: string) => void },
): DemoOptions {
  const cmd = new Command('holdfast demo')
    .description(
      'The flash-sale demo: arms a promo, starts the fleet, replays a crowd of buyers, checks ' +
        'every invariant of the contract and writes a JSON and an HTML report.',
    )
    .exitOverride()
    .configureOutput({ writeOut: write.out, writeErr: write.err })
    .showHelpAfterError('(add --help for usage)')
    .allowExcessArguments(false)
    .addOption(
      new Option('--buyers <n>', 'checkouts in the crowd')
        .default(200_000)
        .argParser(intIn(1, 10_000_000)),
    )
    .addOption(
      new Option('--hot-units <n>', 'units of HOT-1 (per-user limit 2)')
        .default(100)
        .argParser(intIn(1, 1_000_000_000)),
    )
    .addOption(
      new Option('--warm-skus <n>', 'warm SKUs WARM-1..N (per-user limit 5)')
        .default(50)
        .argParser(intIn(1, 10_000)),
    )
    .addOption(
      new Option('--warm-units <n>', 'units of each warm SKU')
        .default(2_000)
        .argParser(intIn(1, 1_000_000_000)),
    )
    .addOption(
      new Option(
        '--hold-seconds <s>',
        'hold length (short, so abandoned holds expire during the demo)',
      )
        .default(5)
        .argParser(intIn(1, 3_600)),
    )
    .addOption(
      new Option('--producers <n>', 'producer connections').default(4).argParser(intIn(1, 64)),
    )
    .addOption(
      new Option(
        '--rate <n>',
        'buyers arriving per second, reached at once (0 = as fast as the producers can send)',
      )
        .default(DEFAULT_RATE)
        .argParser(intIn(0, 10_000_000)),
    )
    .addOption(new Option('--out <dir>', 'report directory').default('reports/'))
    .option('--no-progress', 'no live progress bars (phase lines only)')
    .addOption(
      new Option('--replicas <n>', 'replicas of each service').default(1).argParser(intIn(1, 16)),
    )
    .option('--keep', 'keep the demo namespace in Redis afterwards (for holdfast stock show etc.)')
    .addHelpText('after', HELP_AFTER);
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<DemoOptions>();
  return { ...o, keep: o.keep === true, progress: o.progress !== false };
}

export { CommanderError };
