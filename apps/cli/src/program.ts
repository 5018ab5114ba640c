/**
 * The `holdfast` command line: commander wiring, output, and exit codes (./errors.ts).
 * Each command's work lives in ./commands/*.ts.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '@holdfast/shared';
import { withContext } from '@holdfast/shared/tools';
import { CliError, EXIT, errorMessage } from '@holdfast/shared/tools';
import { sendAdmin, sendPlace, type AdminOptions } from './commands/admin.js';
import { stockLoad, stockShow } from './commands/stock.js';
import { reconcileOnce } from './commands/reconcile.js';
import { dlqList, dlqReplay } from './commands/dlq.js';
import { holdsList, holdsShow } from './commands/holds.js';
import { runFleet, type FleetCommandOptions } from './commands/fleet.js';
import { demoCommand } from '@holdfast/demo';
import { benchCommand } from '@holdfast/bench';

const out = (s: string) => void process.stdout.write(`${s}\n`);
const warn = (s: string) => void process.stderr.write(`${s}\n`);

function positiveInt(max: number) {
  return (v: string) => {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) {
      throw new InvalidArgumentError(`must be an integer 1–${max}`);
    }
    return Number(v);
  };
}

const CONFIG_HELP = `
Configuration (environment, as for the services):
  REDIS_URL            default redis://127.0.0.1:6379
  MYSQL_URL            default mysql://root@127.0.0.1:3306/holdfast
  HOLDFAST_NAMESPACE   prefix of every Redis name (default empty)
  HOLDFAST_SHARDS      the deployment's shards, comma-separated (default main)
  REDIS_CLUSTER_NODES  host:port seeds of a Redis Cluster (default: the one Redis at REDIS_URL)

Exit codes: 0 ok · 1 operation failed or found problems · 2 usage or configuration error`;

type SetCode = (code: number) => void;
/** `holdfast restock and limit: admin events through inventory:admin. */
function addAdminCommands(program: Command, setCode: SetCode): void {
  const adminOptions = (cmd: Command) =>
    cmd
      .option('--event-id <id>', 'idempotency key of the admin event (default: a random UUID)')
      .option('--wait', 'wait until the reserver applied it (default)')
      .option('--no-wait', 'only send it')
      .addOption(
        new Option('--timeout <seconds>', 'how long --wait waits')
          .default(10)
          .argParser(positiveInt(3600)),
      );

  const adminAction =
    (kind: 'restock' | 'set_limit') => async (sku: string, n: string, o: AdminOptions) => {
      const what =
        kind === 'restock'
          ? ({ type: 'restock', qty: n } as const)
          : ({ type: 'set_limit', per_user: n } as const);
      setCode(
        await withContext((ctx) =>
          sendAdmin(ctx, sku, what, { ...o, wait: o.wait !== false }, out),
        ),
      );
    };

  adminOptions(
    program
      .command('restock')
      .description("add QTY units to SKU's total (creating the SKU if new) through inventory:admin")
      .argument('<sku>', 'the SKU')
      .argument('<qty>', 'units to add, 1–1000000000'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  holdfast restock SKU-1 100\n  holdfast restock SKU-1 100 --event-id po-4711   # safe to repeat\n' +
        '\nExit codes: 0 applied (or already applied) · 1 not applied within --timeout (no reserver?) or Redis unreachable · 2 bad argument/env',
    )
    .action(adminAction('restock'));

  adminOptions(
    program
      .command('limit')
      .description(
        "set SKU's per-user limit (held + sold units per user; 0 = no limit) through inventory:admin",
      )
      .argument('<sku>', 'the SKU')
      .argument('<per_user>', 'units per user, 0–1000000 (0 = no limit)'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  holdfast limit SKU-1 2\n  holdfast limit SKU-1 0   # remove the limit\n' +
        '\nExit codes: 0 applied · 1 not applied within --timeout (no reserver?) or Redis unreachable · 2 bad argument/env',
    )
    .action(adminAction('set_limit'));

  adminOptions(
    program
      .command('place')
      .description(
        'place a SKU that does not exist yet on a shard (contract v2) through inventory:admin; do it before its first restock',
      )
      .argument('<sku>', 'the SKU')
      .argument('<shard>', 'one of HOLDFAST_SHARDS'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  HOLDFAST_SHARDS=s0,s1,s2 holdfast place SKU-1 s2\n' +
        '\nExit codes: 0 placed (or already placed there) · 1 the SKU lives elsewhere, not applied within --timeout, or Redis unreachable · 2 bad argument/env (a shard not in HOLDFAST_SHARDS)',
    )
    .action(async (sku: string, shard: string, o: AdminOptions) => {
      setCode(
        await withContext((ctx) =>
          sendPlace(ctx, sku, shard, { ...o, wait: o.wait !== false }, out),
        ),
      );
    });
}

/** `holdfast stock show / stock load. */
function addStockCommands(program: Command, setCode: SetCode): void {
  const stock = program.command('stock').description('inspect and load stock');
  stock
    .command('show')
    .description('Redis counters, MySQL books and variance per SKU (all SKUs when none given)')
    .argument('[sku...]', 'SKUs to show')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      "\nThe variance is the reconciler's (Redis − MySQL with in-flight ledger entries accounted for).\n" +
        'If MySQL is unreachable, only Redis is shown, with a warning on stderr.\n' +
        '\nExamples:\n  holdfast stock show\n  holdfast stock show SKU-1 SKU-2 --json\n' +
        '\nExit codes: 0 ok · 1 a requested SKU is unknown, or Redis unreachable · 2 bad env',
    )
    .action(async (skus: string[], o: { json?: boolean }) => {
      setCode(await withContext((ctx) => stockShow(ctx, skus, o, out, warn)));
    });
  stock
    .command('load')
    .description(
      "arm Redis from MySQL's books for SKUs Redis does not know yet (all when none given)",
    )
    .argument('[sku...]', 'SKUs to load')
    .option('--dry-run', 'show what would be loaded')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nA SKU Redis already knows is skipped. Units the books show as held belong to holds Redis\n' +
        'has no record of: they are released (available = total − sold), through the ledger.\n' +
        '\nExamples:\n  holdfast stock load --dry-run\n  holdfast stock load SKU-1\n' +
        '\nExit codes: 0 ok · 1 MySQL/Redis unreachable or a requested SKU is not in the books · 2 bad env',
    )
    .action(async (skus: string[], o: { dryRun?: boolean; json?: boolean }) => {
      setCode(await withContext((ctx) => stockLoad(ctx, skus, o, out)));
    });
}

/** `holdfast reconcile: the reconciler's check, once. */
function addReconcileCommand(program: Command, setCode: SetCode): void {
  program
    .command('reconcile')
    .description("compare Redis with MySQL once (the reconciler's check) and print the report")
    .option(
      '--once',
      'run one reconciliation (the only mode of the CLI; the reconciler service runs it periodically)',
    )
    .option('--json', 'machine-readable output')
    .option(
      '--compensate',
      'for each SKU with variance, append a `compensate` ledger entry that moves MySQL to Redis',
    )
    .option('--yes', 'approve --compensate')
    .addHelpText(
      'after',
      '\nExamples:\n  holdfast reconcile --once\n  holdfast reconcile --once --json | jq .reports[0].variances\n' +
        '  holdfast reconcile --once --compensate --yes\n' +
        '\nExit codes: 0 no variance · 1 variance found (also when compensated: run again to confirm 0) or a server unreachable · 2 usage (--compensate without --yes) or bad env',
    )
    .action(async (o: { json?: boolean; compensate?: boolean; yes?: boolean }) => {
      setCode(await withContext((ctx) => reconcileOnce(ctx, o, out)));
    });
}

/** `holdfast dlq list / dlq replay: dead letters. */
function addDlqCommands(program: Command, setCode: SetCode): void {
  const dlq = program.command('dlq').description('dead letters (checkout:dead)');
  dlq
    .command('list')
    .description('list dead letters, oldest first')
    .addOption(
      new Option('--limit <n>', 'at most this many').default(50).argParser(positiveInt(1_000_000)),
    )
    .option('--reason <reason>', 'only this reason (e.g. invalid_json, max_deliveries)')
    .option('--json', 'machine-readable output (full original fields)')
    .addHelpText(
      'after',
      '\nExamples:\n  holdfast dlq list\n  holdfast dlq list --reason max_deliveries --limit 10 --json\n' +
        '\nExit codes: 0 ok · 1 Redis unreachable · 2 bad argument/env',
    )
    .action(async (o: { limit: number; reason?: string; json?: boolean }) => {
      setCode(await withContext((ctx) => dlqList(ctx, o, out)));
    });
  dlq
    .command('replay')
    .description("send dead letters' original fields back to their source stream and delete them")
    .argument('[id...]', 'dead letter ids (from `holdfast dlq list`)')
    .option('--all', 'every dead letter (with --reason: of that reason)')
    .option('--reason <reason>', 'with --all: only this reason')
    .option('--dry-run', 'show what would be replayed')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nOnly dead letters of checkout:events and inventory:admin are replayed; the re-add and the\n' +
        'delete are one atomic step, so a dead letter is never replayed twice. Dead letters whose\n' +
        'values were truncated are refused. Fix the cause first (e.g. restock an unknown SKU).\n' +
        '\nExamples:\n  holdfast dlq replay 1718000000000-0\n  holdfast dlq replay --all --reason max_deliveries --dry-run\n' +
        '\nExit codes: 0 ok · 1 some were refused or not found (already replayed?) or Redis unreachable · 2 usage/env',
    )
    .action(
      async (
        ids: string[],
        o: { all?: boolean; reason?: string; dryRun?: boolean; json?: boolean },
      ) => {
        setCode(await withContext((ctx) => dlqReplay(ctx, ids, o, out, warn)));
      },
    );
}

/** `holdfast holds show / holds list: hold look-ups on every shard (contract v2). */
function addHoldsCommands(program: Command, setCode: SetCode): void {
  const holds = program.command('holds').description('look holds up (every shard)');
  holds
    .command('show')
    .description("a checkout's hold: state, user, lines, deadline, shard (and a cart's parts)")
    .argument('<checkout_id>', 'the checkout')
    .option('--json', 'machine-readable output (null when there is no hold)')
    .addHelpText(
      'after',
      '\nExamples:\n  holdfast holds show co-1\n  holdfast holds show co-1 --json | jq .expiresAt\n' +
        '\nExit codes: 0 found · 1 no hold on any shard, or Redis unreachable · 2 bad env',
    )
    .action(async (checkoutId: string, o: { json?: boolean }) => {
      setCode(await withContext((ctx) => holdsShow(ctx, checkoutId, o, out)));
    });
  holds
    .command('list')
    .description("a user's active and pending holds on every shard, oldest first")
    .requiredOption('--user <user_id>', 'the user')
    .option('--all', 'also the finished holds still kept (confirmed, cancelled, expired)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExamples:\n  holdfast holds list --user u-42\n  holdfast holds list --user u-42 --all --json\n' +
        '\nExit codes: 0 ok (also when the user holds nothing) · 1 Redis unreachable · 2 usage/env',
    )
    .action(async (o: { user: string; all?: boolean; json?: boolean }) => {
      setCode(await withContext((ctx) => holdsList(ctx, o, out)));
    });
}

/** `holdfast fleet: every service in one foreground supervisor. */
function addFleetCommand(program: Command, setCode: SetCode): void {
  program
    .command('fleet')
    .description(
      'run the services (ingest, reserver, ledger-writer, reconciler) in one foreground supervisor',
    )
    .option('--replicas <n>', 'replicas of each service', '1')
    .option('--only <services>', 'comma-separated subset, e.g. ingest,reserver')
    .option('--json-logs', "pass the services' JSON log lines through unchanged")
    .option(
      '--stop-timeout <seconds>',
      'on stop, SIGKILL children still running after this long',
      '20',
    )
    .addHelpText(
      'after',
      "\nReplica 0 keeps each service's default METRICS_PORT (9101–9104) unless METRICS_PORT is set;\n" +
        'other replicas get a free port (see their "started" line). A crashed child is restarted\n' +
        'with backoff (1 s doubling to 30 s, reset after 60 s up); one that rejects its configuration\n' +
        'is not, and the fleet stops. Ctrl-C / SIGTERM stops every child gracefully; a second one kills.\n' +
        '\nExamples:\n  holdfast fleet\n  holdfast fleet --replicas 2 --only ingest,reserver\n  METRICS_PORT=0 holdfast fleet --json-logs | jq .\n' +
        "\nExit codes: 0 stopped by a signal · 2 usage or configuration error (also a child's) · 130 killed by a second signal",
    )
    .action(async (o: FleetCommandOptions) => {
      setCode(await runFleet(o));
    });
}

export function buildProgram(setCode: SetCode): Command {
  const program = new Command('holdfast')
    .description(
      'Operate a holdfast fleet: stock, admin events, reconciliation, dead letters, and the services.',
    )
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', CONFIG_HELP);

  addAdminCommands(program, setCode);
  addStockCommands(program, setCode);
  addReconcileCommand(program, setCode);
  addDlqCommands(program, setCode);
  addHoldsCommands(program, setCode);
  addFleetCommand(program, setCode);

  // The demo and the benchmark are their own packages, each exporting its subcommand; the
  // positional options let a subcommand that passes its arguments on see them unparsed.
  program.enablePositionalOptions();
  program.addCommand(demoCommand(setCode));
  program.addCommand(benchCommand(setCode));
  return program;
}

/** Runs one command line; resolves with the exit code (never throws). */
export async function run(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await buildProgram((c) => (code = c)).parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already; help and --version are not errors.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof ConfigError) {
      warn(`holdfast: ${err.message.replace(/:\n\s*/, ': ').replace(/\n\s*/g, '; ')}`);
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      warn(`holdfast: ${err.message}`);
      return err.exitCode;
    }
    warn(`holdfast: ${errorMessage(err)}`);
    return EXIT.failed;
  }
}
