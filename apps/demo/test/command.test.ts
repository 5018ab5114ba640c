/**
 * `holdfast demo` as a commander Command, parsed in-process (the action, which runs the demo,
 * is never reached here): options, defaults, validation and help.
 */
import { describe, expect, it } from 'vitest';
import { Command, CommanderError } from 'commander';
import { demoCommand } from '../src/command.js';
import { DEFAULT_RATE, declareDemoOptions, demoOptions } from '../src/options.js';

/** The demo's Command with its output captured and its action replaced. */
function parse(args: string[]) {
  const out: string[] = [];
  const cmd = demoCommand(() => {}).configureOutput({
    writeOut: (s) => void out.push(s),
    writeErr: (s) => void out.push(s),
  });
  let ran: unknown;
  cmd.action((o: Record<string, unknown>) => void (ran = demoOptions(o)));
  try {
    cmd.parse(args, { from: 'user' });
    return { ran, out: out.join(''), error: undefined };
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return { ran, out: out.join(''), error: e };
  }
}

describe('demoCommand', () => {
  it('declares every option with its default', () => {
    const o = demoOptions(declareDemoOptions(new Command()).parse([], { from: 'user' }).opts());
    expect(o).toEqual({
      buyers: 200_000,
      hotUnits: 100,
      warmSkus: 50,
      warmUnits: 2_000,
      holdSeconds: 5,
      producers: 4,
      rate: DEFAULT_RATE,
      out: 'reports/',
      progress: true,
      replicas: 1,
      keep: false,
      cluster: false,
    });
  });

  it('parses the options it is given', () => {
    const r = parse(['--buyers', '5000', '--rate', '0', '--no-progress', '--keep', '--out', 'x']);
    expect(r.error).toBeUndefined();
    expect(r.ran).toMatchObject({ buyers: 5000, rate: 0, progress: false, keep: true, out: 'x' });
    expect(parse(['--cluster']).ran).toMatchObject({ cluster: true });
  });

  it('refuses a bad value or an unknown option with a usage error', () => {
    const bad = parse(['--buyers', 'lots']);
    expect(bad.error?.code).toBe('commander.invalidArgument');
    expect(bad.out).toMatch(/--buyers <n>.*must be an integer 1–10000000/);
    expect(bad.ran).toBeUndefined();
    expect(parse(['--replicas', '17']).error?.code).toBe('commander.invalidArgument');
    expect(parse(['--frobnicate']).error?.code).toBe('commander.unknownOption');
    expect(parse(['extra']).error?.code).toBe('commander.excessArguments');
  });

  it('--help is commander help for the subcommand, with the environment and exit codes', () => {
    const r = parse(['--help']);
    expect(r.error?.exitCode).toBe(0);
    expect(r.out).toMatch(/--hold-seconds <s>/);
    expect(r.out).toMatch(/HOLDFAST_NAMESPACE/);
    expect(r.out).toMatch(/Exit codes: 0 every invariant holds/);
  });

  it('is listed by a parent program with its summary', () => {
    const program = new Command('holdfast').addCommand(demoCommand(() => {}));
    expect(program.helpInformation()).toMatch(/demo \[options\]\s+the flash-sale simulation/);
  });
});
