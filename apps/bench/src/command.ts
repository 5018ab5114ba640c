/**
 * `holdfast bench` as a commander subcommand, for the CLI to add (`program.addCommand`). Its
 * options are declared on it (./options.ts), so `holdfast bench --help` is commander's help;
 * the benchmark itself (./run.ts) is loaded only when the command runs, so the other commands
 * start without it.
 * Exit code: 0 ok, 1 FAILED (an oversell, a variance ≠ 0 or a failed run), 2 usage.
 */
import type { Command } from 'commander';
import { benchOptionsCommand, benchOptionsOf } from './options.js';

export function benchCommand(setCode: (code: number) => void): Command {
  const cmd = benchOptionsCommand('bench');
  return cmd.action(async () => {
    const options = benchOptionsOf(cmd);
    const { runWithOptions } = await import('./run.js');
    setCode((await runWithOptions(options, cmd.given)).code);
  });
}
