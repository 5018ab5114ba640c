/**
 * ingest alone, as a real process on real Redis: a backlog written while it was down is taken
 * in, each valid event_id reaches the reserver's inbound stream exactly once (however often it
 * was sent, and across a kill -9 mid-forward), garbage becomes one dead letter each.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Keys, createRedis, type Redis } from '@holdfast/shared';
import { isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';
import { startService, stopAll, type RunningService } from '@holdfast/testkit';
import { backlog, readStream } from '@holdfast/shared/inspect';

let env: IsolatedEnv;
let redis: Redis;
let keys: Keys;
const services: RunningService[] = [];
const FAST = { CLAIM_IDLE_MS: '1000', BLOCK_MS: '200', BATCH_SIZE: '100' };

beforeAll(async () => {
  env = await isolatedEnv({ mysql: false });
  keys = new Keys(env.namespace, 'main');
  redis = createRedis(env.redisUrl, { name: 'test' });
});
afterAll(async () => {
  await stopAll(services);
  redis.disconnect();
  await env.cleanup();
});

it('forwards each valid event once, dead-letters garbage, survives kill -9 mid-forward', async () => {
  const N = 4000;
  const p = redis.pipeline();
  let garbage = 0;
  for (let i = 0; i < N; i++) {
    p.xadd(
      keys.streams.events,
      '*',
      'type',
      'reserve',
      'event_id',
      `e${i}`,
      'checkout_id',
      `c${i}`,
      'user_id',
      'u',
      'sku',
      'A',
      'qty',
      '1',
    );
    if (i % 5 === 0)
      p.xadd(
        keys.streams.events,
        '*',
        'type',
        'confirm',
        'event_id',
        `e${i}`,
        'checkout_id',
        `c${i}`,
      ); // same event_id again: no effect
    if (i % 50 === 0) {
      p.xadd(keys.streams.events, '*', 'type', 'reserve', 'event_id', `bad${i}`, 'qty', 'many');
      garbage++;
    }
  }
  await p.exec();
  // The backlog was there before ingest started. The first ingest kills itself (-9) after
  // forwarding its 5th batch and before acking it.
  const victim = await startService('ingest', {
    ...env.env,
    ...FAST,
    HOLDFAST_FAULT: 'ingest.after_forward:5',
  });
  services.push(victim);
  await victim.exited;
  expect(victim.proc.signalCode).toBe('SIGKILL');
  expect(
    Number(((await redis.xpending(keys.streams.events, 'ingest')) as [number])[0]),
  ).toBeGreaterThan(0);
  services.push(await startService('ingest', { ...env.env, ...FAST }));
  await waitFor(async () => (await backlog(redis, keys.streams.events)) === 0, {
    timeoutMs: 60_000,
    what: 'ingest drained',
  });

  // S in entries: one field `e`, the validated event as compact JSON (internal-event.ts).
  const inbound = (await readStream(redis, keys.shard().inbound)).map(
    (e) => JSON.parse(e.e!) as Record<string, unknown>,
  );
  const ids = inbound.map((e) => e.e);
  expect(new Set(ids).size).toBe(ids.length); // nothing doubled
  expect(ids.length).toBe(N); // nothing lost
  expect(inbound.every((e) => e.t === 'reserve')).toBe(true); // the first arrival of an id wins
  expect(inbound[0]).toMatchObject({ t: 'reserve', e: 'e0', c: 'c0', u: 'u', l: [['A', 1]] });
  expect(inbound[0]!.s).toMatch(/^\d+-\d+$/);
  const dead = await readStream(redis, keys.streams.dead);
  expect(dead).toHaveLength(garbage);
  expect(new Set(dead.map((d) => d.reason))).toEqual(new Set(['missing_field']));
});
