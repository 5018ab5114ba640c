/**
 * `holdfast demo` as a commander subcommand, for the CLI to add (`program.addCommand`). The
 * demo parses its own options (./options.ts), so the subcommand hands them over verbatim.
 */
import { Command } from 'commander';

export function demoCommand(setCode: (code: number) => void): Command {
  return new Command('demo')
    .description('the flash-sale simulation (see `holdfast demo --help`)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[args...]')
    .action(async (args: string[]) => {
      // Loaded when run, so other commands start without it.
      const { runDemo } = await import('./run.js');
      setCode(await runDemo(args));
    });
}
