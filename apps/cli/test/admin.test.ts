/**
 * restock / limit through a real reserver, the "no reserver" deadline, and config/usage errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys, createRedis, readStock, type Redis } from '@holdfast/shared';
import {
  HOLDFAST_BIN,
  commandLine,
  isolatedEnv,
  startService,
  stopAll,
  type IsolatedEnv,
  type RunningService,
} from '@holdfast/testkit';

const { run: runCli } = commandLine(HOLDFAST_BIN);

describe('holdfast restock / limit with a reserver', () => {
  let env: IsolatedEnv;
  let redis: Redis;
  let keys: Keys;
  let services: RunningService[] = [];

  beforeAll(async () => {
    env = await isolatedEnv({ mysql: false });
    keys = new Keys(env.namespace, 'main');
    redis = createRedis(env.redisUrl, { name: 'test' });
    services = [await startService('reserver', { ...env.env, BLOCK_MS: '100' })];
  });
  afterAll(async () => {
    await stopAll(services);
    redis.disconnect();
    await env.cleanup();
  });

  it('restock is applied by the reserver before the command returns', async () => {
    const r = await runCli(['restock', 'SKU-1', '25'], env.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/applied: SKU-1 now total 25, available 25, held 0, sold 0/);
    expect(await readStock(redis, keys, 'SKU-1')).toMatchObject({ total: 25, available: 25 });
    // The entry is on the public admin stream, as the contract describes it.
    const admin = (await redis.xrange(keys.streams.admin, '-', '+')) as Array<[string, string[]]>;
    expect(admin).toHaveLength(1);
    expect(admin[0]![1]).toEqual(
      expect.arrayContaining(['type', 'restock', 'sku', 'SKU-1', 'qty', '25']),
    );
  });

  it('is idempotent by --event-id', async () => {
    const a = await runCli(['restock', 'SKU-2', '10', '--event-id', 'po-1'], env.env);
    expect(a.code).toBe(0);
    const b = await runCli(['restock', 'SKU-2', '10', '--event-id', 'po-1'], env.env);
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/already applied/);
    expect(await readStock(redis, keys, 'SKU-2')).toMatchObject({ total: 10 });
  });

  it('limit sets the per-user limit', async () => {
    const r = await runCli(['limit', 'SKU-1', '3'], env.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/per_user limit 3/);
    expect(await readStock(redis, keys, 'SKU-1')).toMatchObject({ perUser: 3 });
  });

  it('--no-wait only sends', async () => {
    const r = await runCli(['restock', 'SKU-3', '1', '--no-wait'], env.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sent restock SKU-3 \+1/);
    expect(r.stdout).not.toMatch(/applied/);
  });

  it('rejects bad arguments with exit 2 before sending anything', async () => {
    // The reserver trims applied entries: compare the stream's last generated id, not its length.
    const lastId = async () => {
      const info = (await redis.xinfo('STREAM', keys.streams.admin)) as unknown[];
      return String(info[info.indexOf('last-generated-id') + 1]);
    };
    const before = await lastId();
    const cases = [
      ['restock', 'SKU-1', '0'],
      ['restock', 'SKU-1', '1.5'],
      ['restock', 'bad sku', '1'],
      ['limit', 'SKU-1', '-1'],
      ['restock', 'SKU-1'],
      ['restock', 'SKU-1', '1', '--bogus'],
    ];
    const results = await Promise.all(cases.map((args) => runCli(args, env.env)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]!.join(' ')).toBe(2);
      expect(r.stderr.trim().length, cases[i]!.join(' ')).toBeGreaterThan(0);
    });
    expect(await lastId()).toBe(before);
  });
});

describe('holdfast without a reserver', () => {
  let env: IsolatedEnv;
  beforeAll(async () => {
    env = await isolatedEnv({ mysql: false });
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('restock --wait exits 1 saying no reserver seems to be running', async () => {
    const t0 = Date.now();
    const r = await runCli(['restock', 'SKU-1', '5', '--wait', '--timeout', '2'], env.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no reserver seems to be running/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
  });

  it('a bad environment variable exits 2 naming it, without printing the password', async () => {
    const r = await runCli(['stock', 'show'], { ...env.env, REDIS_URL: 'http://user:hunter2@x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/REDIS_URL/);
    expect(r.stderr).not.toMatch(/hunter2/);
    const s = await runCli(['dlq', 'list'], { ...env.env, HOLDFAST_SHARDS: 'no spaces' });
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/HOLDFAST_SHARDS/);
  });

  it('an unreachable Redis exits 1 with one line and no password', async () => {
    const r = await runCli(['dlq', 'list'], {
      ...env.env,
      REDIS_URL: 'redis://:hunter2@127.0.0.1:1',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
    expect(r.stderr).not.toMatch(/hunter2/);
  });

  it('demo and bench are subcommands that hand their arguments to their own packages', async () => {
    const [demoHelp, benchHelp, badDemo, badBench, dashDemo, dashBench] = await Promise.all([
      runCli(['demo', '--help'], env.env),
      runCli(['bench', '--help'], env.env),
      runCli(['demo', '--buyers', 'lots'], env.env),
      runCli(['bench', '--no-such-option'], env.env),
      // What `pnpm demo -- …` / `pnpm bench -- …` run: the `--` pnpm passes on is dropped.
      runCli(['demo', '--', '--buyers', 'lots'], env.env),
      runCli(['bench', '--', '--help'], env.env),
    ]);
    // Their own help (not the CLI's one-line description), exit 0.
    expect(demoHelp.code).toBe(0);
    expect(demoHelp.stdout).toMatch(/--buyers/);
    expect(benchHelp.code).toBe(0);
    expect(benchHelp.stdout).toMatch(/--scenarios?/);
    // Their own usage errors, exit 2, and nothing started.
    expect(badDemo.code).toBe(2);
    expect(badDemo.stderr).toMatch(/--buyers/);
    expect(badBench.code).toBe(2);
    expect(dashDemo.code).toBe(2);
    expect(dashDemo.stderr).toMatch(/--buyers/);
    expect(dashBench.code).toBe(0);
    expect(dashBench.stdout).toMatch(/--scenarios?/);
  });

  it('help exits 0, an unknown command 2', async () => {
    const [a, b, c] = await Promise.all([
      runCli(['--help'], env.env),
      runCli(['dlq', 'replay', '--help'], env.env),
      runCli(['frobnicate'], env.env),
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/Exit codes/);
    expect(b.code).toBe(0);
    expect(c.code).toBe(2);
  });
});

describe('holdfast place with a reserver serving two shards', () => {
  let env: IsolatedEnv;
  let redis: Redis;
  let keys: Keys;
  let shardsEnv: Record<string, string>;
  let services: RunningService[] = [];

  beforeAll(async () => {
    env = await isolatedEnv({ mysql: false });
    keys = new Keys(env.namespace, ['main', 's2']);
    redis = createRedis(env.redisUrl, { name: 'test' });
    shardsEnv = { ...env.env, HOLDFAST_SHARDS: 'main,s2' };
    services = [await startService('reserver', { ...shardsEnv, BLOCK_MS: '100' })];
  });
  afterAll(async () => {
    await stopAll(services);
    redis.disconnect();
    await env.cleanup();
  });

  it('places a new SKU, whose restock then lands on that shard; refuses a move and an unknown shard', async () => {
    // A SKU the placement function would put on main (so the place is what moves it to s2).
    let sku = 'P0';
    for (let i = 0; keys.defaultShardOf(sku) !== 'main'; i++) sku = `P${i}`;
    const p = await runCli(['place', sku, 's2'], shardsEnv);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(new RegExp(`applied: ${sku} lives on shard s2`));
    expect(await redis.hget(keys.streams.placement, sku)).toBe('s2');

    const r = await runCli(['restock', sku, '7'], shardsEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(await readStock(redis, keys, sku, 's2')).toMatchObject({ total: 7, available: 7 });
    expect(await readStock(redis, keys, sku, 'main')).toBeNull();

    const again = await runCli(['place', sku, 's2'], shardsEnv);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already placed there/);
    const move = await runCli(['place', sku, 'main'], shardsEnv);
    expect(move.code).toBe(1);
    expect(move.stderr).toMatch(/already lives on shard s2/);
    const unknown = await runCli(['place', 'P-new', 'nowhere'], shardsEnv);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/not one of HOLDFAST_SHARDS/);
    expect(await redis.hexists(keys.streams.placement, 'P-new')).toBe(0);
  });
});
