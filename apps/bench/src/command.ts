/**
 * `holdfast bench` as a commander subcommand, for the CLI to add (`program.addCommand`). The
 * benchmark parses its own options, so the subcommand hands them over verbatim.
 * Exit code: 0 ok, 1 FAILED (an oversell, a variance ≠ 0 or a failed run), 2 usage.
 */
import { Command } from 'commander';

export function benchCommand(setCode: (code: number) => void): Command {
  return new Command('bench')
    .description('the benchmark (see `holdfast bench --help`, docs/benchmarks.md)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[args...]')
    .action(async (args: string[]) => {
      // Loaded when run, so other commands start without it.
      const { run } = await import('./run.js');
      setCode(await run(args));
    });
}
