/**
 * kill -9 a reserver in the middle of a batch, start another: every event still gets exactly
 * one outcome and one effect.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Keys, createRedis, type Redis } from '@holdfast/shared';
import { isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';
import { startService, stopAll, type RunningService } from '@holdfast/testkit';
import {
  ledgerSummary,
  outcomesByEvent,
  readAllStock,
  stockViolations,
  xaddMany,
} from '@holdfast/shared/inspect';

const FAST = { CLAIM_IDLE_MS: '1000', HOUSEKEEPING_MS: '500', BLOCK_MS: '200', BATCH_SIZE: '200' };

let env: IsolatedEnv;
let redis: Redis;
let keys: Keys;
const services: RunningService[] = [];

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

it('a reserver killed mid-batch loses and doubles nothing', async () => {
  const N = 6000;
  await xaddMany(redis, keys.streams.admin, [
    { type: 'restock', event_id: 'a1', sku: 'A', qty: '2000' },
    { type: 'restock', event_id: 'a2', sku: 'B', qty: '5000' },
  ]);
  const events = [];
  for (let i = 0; i < N; i++) {
    events.push({
      type: 'reserve',
      event_id: `r${i}`,
      checkout_id: `c${i}`,
      user_id: `u${i}`,
      lines: JSON.stringify(
        i % 3
          ? [{ sku: 'A', qty: 1 }]
          : [
              { sku: 'A', qty: 1 },
              { sku: 'B', qty: 2 },
            ],
      ),
    });
    if (i % 4 === 0) events.push({ type: 'confirm', event_id: `k${i}`, checkout_id: `c${i}` });
    if (i % 4 === 1) events.push({ type: 'cancel', event_id: `x${i}`, checkout_id: `c${i}` });
  }
  // The backlog is in the stream before the fleet starts (contract: nothing added while the
  // fleet was down is skipped).
  await xaddMany(redis, keys.streams.events, events);
  services.push(await startService('ingest', { ...env.env, ...FAST }));
  const victim = await startService('reserver', { ...env.env, ...FAST });
  services.push(victim);
  // Kill it while it is deciding: some outcomes written, many still to go.
  await waitFor(async () => (await redis.xlen(keys.shard().outcomes)) > 1500, {
    what: 'first decisions',
  });
  victim.proc.kill('SIGKILL');
  await victim.exited;
  const decidedAtKill = await redis.xlen(keys.shard().outcomes);
  expect(decidedAtKill).toBeLessThan(events.length);
  const pendingAtKill = (await redis.xpending(keys.shard().inbound, 'reserver')) as [number];
  services.push(await startService('reserver', { ...env.env, ...FAST }));
  await waitFor(async () => (await outcomesByEvent(redis, keys)).size === events.length, {
    timeoutMs: 60_000,
    what: 'every event decided',
  });
  await waitFor(
    async () =>
      Number(((await redis.xpending(keys.shard().inbound, 'reserver')) as [number])[0]) === 0,
    {
      what: 'nothing pending',
    },
  );
  const outcomes = await outcomesByEvent(redis, keys);
  const doubled = [...outcomes.entries()].filter(([, l]) => l.length > 1).map(([k]) => k);
  expect(doubled).toEqual([]);
  expect(outcomes.size).toBe(events.length);
  const ledger = await ledgerSummary(redis, keys);
  expect(ledger.doubled).toEqual([]);
  const stateChanges = [...outcomes.values()].filter((l) => l[0]!.status !== 'rejected').length;
  expect(ledger.entries).toBe(stateChanges + 2); // + the two restocks
  const stock = await readAllStock(redis, keys);
  expect(stockViolations(stock)).toEqual([]);
  for (const r of stock) {
    expect(ledger.perSku.get(r.sku)).toEqual([r.total, r.available, r.held, r.sold]);
  }
  // Report what the kill interrupted (visible with --reporter=verbose).
  console.log(
    `killed with ${decidedAtKill} outcomes written and ${pendingAtKill[0]} entries pending`,
  );
});
