/** `holdfast bench` options: commander declarations → BenchOptions (no servers needed). */
import { CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runBench } from '../src/index.js';
import { parseBenchArgs, type BenchOptions } from '../src/options.js';

const noEnv = {};
const parse = (args: string[], env: Record<string, string | undefined> = noEnv) =>
  parseBenchArgs(args, env).options;

/** Parses with commander's output silenced; returns the CommanderError it threw. */
function usageError(args: string[], env: Record<string, string | undefined> = noEnv) {
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    parseBenchArgs(args, env);
  } catch (err) {
    if (err instanceof CommanderError) return err;
    throw err;
  }
  throw new Error(`no usage error for ${args.join(' ')}`);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('bench options', () => {
  it('defaults', () => {
    expect(parse([])).toEqual({
      scale: 1,
      scenarios: [1, 2, 3],
      only: ['A', 'B', 'C'],
      out: undefined,
      producers: 4,
      chunk: 500,
      latencyRun: true,
      latencyFractions: [0.8],
      bConnections: 64,
      bVariants: ['conditional', 'for-update'],
      cConnections: 2,
      cDepth: 4,
      cPipeline: 500,
      timeLimitS: 900,
      profile: false,
      fleetEnv: {},
      redisUrl: 'redis://127.0.0.1:6379',
      mysqlUrl: 'mysql://root@127.0.0.1:3306/',
      keep: false,
      shards: 'compare',
      shardsScale: 0.2,
      rttMs: [0],
      collateralReads: 200,
      collateralInserts: 50,
      help: false,
    } satisfies BenchOptions);
  });

  it('every option, in both --flag value and --flag=value form', () => {
    const o = parse([
      '--scale=0.05',
      '--scenarios',
      '3, 1,3',
      '--only',
      'c,a',
      '--out',
      '/tmp/x',
      '--producers',
      '8',
      '--chunk=100',
      '--no-latency-run',
      '--latency-fraction',
      '0.5,0.25,0.5',
      '--b-connections',
      '16',
      '--b-variants',
      'for-update',
      '--c-connections',
      '3',
      '--c-depth',
      '2',
      '--c-pipeline',
      '250',
      '--time-limit',
      '1.5',
      '--profile',
      '--fleet-env',
      'BATCH_SIZE=1000',
      '--fleet-env',
      'X=a=b',
      '--redis-url',
      'rediss://h:6380',
      '--mysql-url',
      'mariadb://u@h/db',
      '--keep',
      '--shards',
      'only',
      '--shards-scale',
      '0.01',
      '--rtt-ms',
      '1, 0,0.5,1',
      '--collateral-reads=0',
      '--collateral-inserts',
      '10',
    ]);
    expect(o).toEqual({
      scale: 0.05,
      scenarios: [1, 3],
      only: ['A', 'C'],
      out: '/tmp/x',
      producers: 8,
      chunk: 100,
      latencyRun: false,
      latencyFractions: [0.5, 0.25],
      bConnections: 16,
      bVariants: ['for-update'],
      cConnections: 3,
      cDepth: 2,
      cPipeline: 250,
      timeLimitS: 1.5,
      profile: true,
      fleetEnv: { BATCH_SIZE: '1000', X: 'a=b' },
      redisUrl: 'rediss://h:6380',
      mysqlUrl: 'mariadb://u@h/db',
      keep: true,
      shards: 'only',
      shardsScale: 0.01,
      rttMs: [0, 0.5, 1],
      collateralReads: 0,
      collateralInserts: 10,
      help: false,
    } satisfies BenchOptions);
  });

  it('ignores the `--` pnpm forwards and keeps the arguments for the report', () => {
    const { options, args } = parseBenchArgs(['--', '--scale', '0.05'], noEnv);
    expect(options.scale).toBe(0.05);
    expect(args).toEqual(['--scale', '0.05']);
  });

  it('server URLs default from REDIS_URL / MYSQL_URL (an empty one counts as unset)', () => {
    const env = { REDIS_URL: 'redis://r:1', MYSQL_URL: '' };
    expect(parse([], env)).toMatchObject({
      redisUrl: 'redis://r:1',
      mysqlUrl: 'mysql://root@127.0.0.1:3306/',
    });
    expect(parse(['--redis-url', 'redis://x:2'], env).redisUrl).toBe('redis://x:2');
  });

  it.each([
    [['--scale', '0']],
    [['--scale', '101']],
    [['--scale', 'x']],
    [['--scale']],
    [['--scenario', '4']],
    [['--scenario', ',']],
    [['--only', 'D']],
    [['--producers', '1.5']],
    [['--chunk', '0']],
    [['--latency-fraction', '0']],
    [['--b-variants', 'optimistic']],
    [['--c-depth', '65']],
    [['--fleet-env', 'NOVALUE']],
    [['--rtt-ms', '-1']],
    [['--rtt-ms', 'fast']],
    [['--collateral-reads', '1.5']],
    [['--redis-url', 'http://x']],
    [['--mysql-url', 'postgres://x']],
    [['--bogus']],
    [['extra']],
  ])('%j is a usage error', (args) => {
    expect(usageError(args).exitCode).not.toBe(0);
  });

  it('checks a server URL taken from the environment too', () => {
    expect(usageError([], { REDIS_URL: 'http://x' }).exitCode).toBe(2);
  });

  it('runBench: exit code 2 on a usage error, 0 for --help', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await runBench(['--only', 'X'])).toEqual({ code: 2 });
    expect(await runBench(['--help'])).toEqual({ code: 0 });
  });
});
