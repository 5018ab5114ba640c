/** `holdfast bench` / `pnpm bench` arguments. */
import type { System } from './types.js';

export const HELP = `Usage: holdfast bench [options]       (pnpm bench -- [options])

Runs the holdfast benchmark on this machine, side by side in one run:
  A  the fleet end to end (ingest, reserver, ledger-writer, reconciler as processes)
  B  the naive MySQL-only checkout (one transaction per buyer, 64-connection pool)
  C  the reserver's Lua gate driven straight at Redis (the physical limit)
over three scenarios (1 hot SKU, 2 uniform demand over 10,000 SKUs, 3 multi-line carts).
Writes report.json and report.md to --out and prints the markdown. Exit 1 when any run
oversold, left a variance ≠ 0 or failed; 2 on a usage error.

Options:
  --scale F            multiply buyers / SKUs / units (default 1; 0.05 for a quick run)
  --scenario LIST      scenarios to run, e.g. 1 or 1,3 (default 1,2,3)
  --only LIST          systems to run, e.g. A,C (default A,B,C)
  --out DIR            report directory (default reports/bench-<timestamp>/)
  --producers N        A: producer connections (default 4)
  --chunk N            A: XADDs per producer pipeline (default 500)
  --no-latency-run     A: skip the rate-limited run at --latency-fraction of A's max rate
  --latency-fraction L A: paced latency runs at these fractions of A's max rate, e.g. 0.8,0.5
                       (default 0.8)
  --b-connections N    B: pool size = concurrent buyers (default 64)
  --b-variants LIST    B: conditional,for-update (default both)
  --c-connections N    C: Redis connections (default 2)
  --c-depth N          C: pipelines in flight per connection (default 4)
  --c-pipeline N       C: decisions per pipeline (default 500)
  --time-limit S       B/C: stop a run after S seconds (default 900; reported as truncated)
  --profile            A: CPU-profile the services (V8 sampler; <out>/profiles/, summary in the JSON)
  --fleet-env K=V      A: extra environment for the services (repeatable)
  --redis-url URL      default $REDIS_URL or redis://127.0.0.1:6379
  --mysql-url URL      MySQL server (its database part is ignored; fresh databases are made)
                       default $MYSQL_URL or mysql://root@127.0.0.1:3306/
  --keep               keep the namespaces and databases (default: deleted after each run)
  -h, --help           this text
`;

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
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

function num(name: string, v: string | undefined, min: number, max: number, int = false): number {
  const n = Number(v);
  if (
    v === undefined ||
    v.trim() === '' ||
    !Number.isFinite(n) ||
    n < min ||
    n > max ||
    (int && !Number.isInteger(n))
  ) {
    throw new UsageError(
      `${name} must be ${int ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(v ?? '')}`,
    );
  }
  return n;
}

export function parseOptions(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): BenchOptions {
  const o: BenchOptions = {
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
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    mysqlUrl: env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/',
    keep: false,
    help: false,
  };
  for (let i = 0; i < args.length; i++) {
    let a = args[i]!;
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '-h':
      case '--help':
        o.help = true;
        break;
      case '--':
        break;
      case '--scale':
        o.scale = num(a, next(), 0.0001, 100);
        break;
      case '--scenario':
      case '--scenarios': {
        const list = next()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        o.scenarios = [...new Set(list.map((s) => num('--scenario', s, 1, 3, true)))].sort();
        if (!o.scenarios.length) throw new UsageError('--scenario: no scenario given');
        break;
      }
      case '--only': {
        const list = next()
          .split(',')
          .map((s) => s.trim().toUpperCase())
          .filter(Boolean);
        for (const s of list)
          if (!['A', 'B', 'C'].includes(s))
            throw new UsageError(`--only: unknown system ${JSON.stringify(s)} (A, B, C)`);
        o.only = (['A', 'B', 'C'] as const).filter((s) => list.includes(s));
        if (!o.only.length) throw new UsageError('--only: no system given');
        break;
      }
      case '--out':
        o.out = next();
        break;
      case '--producers':
        o.producers = num(a, next(), 1, 64, true);
        break;
      case '--chunk':
        o.chunk = num(a, next(), 1, 10_000, true);
        break;
      case '--no-latency-run':
        o.latencyRun = false;
        break;
      case '--latency-fraction':
        o.latencyFractions = [
          ...new Set(
            next()
              .split(',')
              .map((v) => v.trim())
              .filter(Boolean)
              .map((v) => num('--latency-fraction', v, 0.01, 1)),
          ),
        ];
        if (!o.latencyFractions.length) throw new UsageError('--latency-fraction: no value given');
        break;
      case '--b-connections':
        o.bConnections = num(a, next(), 1, 128, true);
        break;
      case '--b-variants': {
        const list = next()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const s of list)
          if (s !== 'conditional' && s !== 'for-update')
            throw new UsageError(`--b-variants: unknown variant ${JSON.stringify(s)}`);
        o.bVariants = [...new Set(list)] as BenchOptions['bVariants'];
        if (!o.bVariants.length) throw new UsageError('--b-variants: no variant given');
        break;
      }
      case '--c-connections':
        o.cConnections = num(a, next(), 1, 64, true);
        break;
      case '--c-depth':
        o.cDepth = num(a, next(), 1, 64, true);
        break;
      case '--c-pipeline':
        o.cPipeline = num(a, next(), 1, 10_000, true);
        break;
      case '--time-limit':
        o.timeLimitS = num(a, next(), 1, 86_400);
        break;
      case '--profile':
        o.profile = true;
        break;
      case '--fleet-env': {
        const kv = next();
        const i2 = kv.indexOf('=');
        if (i2 <= 0)
          throw new UsageError(`--fleet-env expects KEY=VALUE, got ${JSON.stringify(kv)}`);
        o.fleetEnv[kv.slice(0, i2)] = kv.slice(i2 + 1);
        break;
      }
      case '--redis-url':
        o.redisUrl = next();
        break;
      case '--mysql-url':
        o.mysqlUrl = next();
        break;
      case '--keep':
        o.keep = true;
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(args[i])} (see --help)`);
    }
  }
  if (!/^rediss?:\/\//.test(o.redisUrl)) throw new UsageError('--redis-url must be a redis:// URL');
  if (!/^(mysql|mariadb):\/\//.test(o.mysqlUrl))
    throw new UsageError('--mysql-url must be a mysql:// URL');
  return o;
}
