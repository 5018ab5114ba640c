/**
 * `holdfast demo` as a commander Command: the CLI adds it (`program.addCommand`), and
 * bin/holdfast-demo.mjs runs the same Command on its own (runDemoCommand). Its options are
 * declared on it (./options.ts), so `--help` is commander's help for the subcommand.
 * The demo itself (./demo.ts and its phases) is loaded when the command runs, so other
 * commands start without it.
 */
import { Command, CommanderError } from 'commander';
import { EXIT } from '@holdfast/shared/tools';
import { DEMO_DESCRIPTION, DEMO_HELP_AFTER, declareDemoOptions, demoOptions } from './options.js';

/**
 * `pnpm demo -- --buyers 50000` runs `holdfast demo -- --buyers 50000` (pnpm passes the `--`
 * on): the demo takes no operands, so a `--` only separates pnpm's arguments and is dropped
 * (the benchmark's command does the same).
 */
class DemoCommand extends Command {
  override parseOptions(argv: string[]) {
    return super.parseOptions(argv.filter((a) => a !== '--'));
  }
}

export function demoCommand(setCode: (code: number) => void): Command {
  const cmd = new DemoCommand('demo')
    .summary('the flash-sale simulation (see `holdfast demo --help`)')
    .description(DEMO_DESCRIPTION)
    // Usage errors and --help throw CommanderError (exit code 2 / 0) instead of exiting.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .allowExcessArguments(false);
  return declareDemoOptions(cmd)
    .addHelpText('after', DEMO_HELP_AFTER)
    .action(async (parsed: Record<string, unknown>) => {
      const { runDemo } = await import('./demo.js');
      setCode(await runDemo(demoOptions(parsed)));
    });
}

/**
 * The demo on its own (bin/holdfast-demo.mjs): the same Command, named as under the CLI.
 * Resolves with the exit code: 0/1 from the run, 2 for bad usage, 0 after --help.
 */
export async function runDemoCommand(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await demoCommand((c) => (code = c))
      .name('holdfast demo')
      .parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw err;
  }
}
