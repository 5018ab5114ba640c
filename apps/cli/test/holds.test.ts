/**
 * holdfast holds show / holds list (contract v2) against ingest and a reserver serving two
 * shards: a single-shard hold, a cart across both shards (its parts shown), a confirmed hold
 * (listed only with --all), an unknown checkout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys, createRedis, type Redis } from '@holdfast/shared';
import { xaddMany } from '@holdfast/shared/inspect';
import {
  HOLDFAST_BIN,
  commandLine,
  isolatedEnv,
  startService,
  stopAll,
  waitFor,
  type IsolatedEnv,
  type RunningService,
} from '@holdfast/testkit';

const { run: runCli } = commandLine(HOLDFAST_BIN);

interface HoldJson {
  checkoutId: string;
  state: string;
  shard: string;
  userId: string;
  lines: Array<[string, number]>;
  expiresAt: number;
  parts?: Array<{ shard: string; state: string | null }>;
}

describe('holdfast holds show / list on two shards', () => {
  let env: IsolatedEnv;
  let redis: Redis;
  let keys: Keys;
  let shardsEnv: Record<string, string>;
  let services: RunningService[] = [];

  beforeAll(async () => {
    env = await isolatedEnv({ mysql: false });
    keys = new Keys(env.namespace, ['main', 's2']);
    redis = createRedis(env.redisUrl, { name: 'test' });
    shardsEnv = { ...env.env, HOLDFAST_SHARDS: 'main,s2', BLOCK_MS: '100' };
    services = await Promise.all([
      startService('ingest', shardsEnv),
      startService('reserver', shardsEnv),
    ]);
  });
  afterAll(async () => {
    await stopAll(services);
    redis.disconnect();
    await env.cleanup();
  });

  const show = async (checkout: string) => {
    const r = await runCli(['holds', 'show', checkout, '--json'], shardsEnv);
    return { code: r.code, hold: JSON.parse(r.stdout) as HoldJson | null };
  };

  it('shows each hold with its shard, state, lines and deadline, and lists what a user holds', async () => {
    // One SKU on each shard.
    expect((await runCli(['place', 'HA', 'main'], shardsEnv)).code).toBe(0);
    expect((await runCli(['place', 'HB', 's2'], shardsEnv)).code).toBe(0);
    expect((await runCli(['restock', 'HA', '10'], shardsEnv)).code).toBe(0);
    expect((await runCli(['restock', 'HB', '10'], shardsEnv)).code).toBe(0);
    const before = Date.now();
    await xaddMany(redis, keys.streams.events, [
      { type: 'reserve', event_id: 'h1', checkout_id: 'hc1', user_id: 'hu1', sku: 'HA', qty: '2' },
      {
        type: 'reserve',
        event_id: 'h2',
        checkout_id: 'hc2',
        user_id: 'hu1',
        lines: JSON.stringify([
          { sku: 'HA', qty: 1 },
          { sku: 'HB', qty: 3 },
        ]),
      },
      { type: 'reserve', event_id: 'h3', checkout_id: 'hc3', user_id: 'hu2', sku: 'HB', qty: '1' },
    ]);
    await waitFor(async () => (await show('hc3')).hold?.state === 'active');
    await xaddMany(redis, keys.streams.events, [
      { type: 'confirm', event_id: 'h4', checkout_id: 'hc3' },
    ]);
    await waitFor(
      async () =>
        (await show('hc2')).hold?.state === 'active' &&
        (await show('hc3')).hold?.state === 'confirmed',
    );

    const one = (await show('hc1')).hold!;
    expect(one).toMatchObject({
      state: 'active',
      shard: 'main',
      userId: 'hu1',
      lines: [['HA', 2]],
    });
    expect(one.expiresAt).toBeGreaterThan(before);
    expect(one.parts).toBeUndefined();
    // A cart across shards: decided on its first line's shard, its part on s2 held.
    const cart = (await show('hc2')).hold!;
    expect(cart).toMatchObject({
      state: 'active',
      shard: 'main',
      lines: [
        ['HA', 1],
        ['HB', 3],
      ],
      parts: [{ shard: 's2', state: 'held' }],
    });
    expect((await show('hc3')).hold).toMatchObject({ state: 'confirmed', shard: 's2' });

    const text = await runCli(['holds', 'show', 'hc2'], shardsEnv);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/state\s+active/);
    expect(text.stdout).toMatch(/part on s2\s+HB×3: held/);

    const list = await runCli(['holds', 'list', '--user', 'hu1', '--json'], shardsEnv);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as HoldJson[]).map((h) => h.checkoutId).sort()).toEqual([
      'hc1',
      'hc2',
    ]);
    // hu2's only hold is confirmed: listed with --all only.
    const none = await runCli(['holds', 'list', '--user', 'hu2'], shardsEnv);
    expect(none.stdout).toMatch(/holds nothing/);
    const all = await runCli(['holds', 'list', '--user', 'hu2', '--all'], shardsEnv);
    expect(all.stdout).toMatch(/hc3\s+confirmed\s+s2\s+HB×1/);
  });

  it('says so, exit 1, for a checkout no shard knows', async () => {
    const r = await runCli(['holds', 'show', 'never-seen'], shardsEnv);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no hold for checkout never-seen on any shard/);
    expect((await show('never-seen')).hold).toBeNull();
    const usage = await runCli(['holds', 'list'], shardsEnv);
    expect(usage.code).toBe(2);
  });
});
