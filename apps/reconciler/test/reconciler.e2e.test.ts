/**
 * The reconciler against a real fleet: no false alarms under load, exact drift, one run per tick.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { Keys, createRedis, type Redis } from '@holdfast/shared';
import { createMysqlPool, migrate } from '@holdfast/shared/mysql';
import { isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';
import { scrapeMetric, startService, stopAll, type RunningService } from '@holdfast/testkit';
import { drained, readStream, xaddMany } from '@holdfast/shared/inspect';
import { runCrowd } from '@holdfast/crowd';
import { reconcileAll } from '../src/reconcile.js';

const FAST = {
  CLAIM_IDLE_MS: '2000',
  HOUSEKEEPING_MS: '300',
  BLOCK_MS: '200',
  SWEEP_INTERVAL_MS: '200',
};

let env: IsolatedEnv;
let redis: Redis;
let keys: Keys;
let services: RunningService[] = [];

async function setup() {
  env = await isolatedEnv();
  keys = new Keys(env.namespace, 'main');
  redis = createRedis(env.redisUrl, { name: 'test' });
  await migrate(env.mysqlUrl);
}

afterEach(async () => {
  await stopAll(services);
  services = [];
  redis?.disconnect();
  await env?.cleanup();
});

async function arm(skus: number, qty: number) {
  await xaddMany(
    redis,
    keys.streams.admin,
    Array.from({ length: skus }, (_, s) => ({
      type: 'restock',
      event_id: `arm${s}`,
      sku: `S${s}`,
      qty: String(qty),
    })),
  );
  await waitFor(async () => (await redis.scard(keys.shard().skus)) === skus, { what: 'armed' });
}

describe('reconciler', () => {
  it('reports variance 0 at every sample under continuous load (in-flight entries accounted for)', async () => {
    await setup();
    services = await Promise.all([
      startService('ingest', { ...env.env, ...FAST }),
      startService('reserver', { ...env.env, ...FAST, HOLD_DEFAULT_SECONDS: '1' }),
      // A slow writer keeps many ledger entries in flight while we sample.
      startService('ledger-writer', {
        ...env.env,
        ...FAST,
        LEDGER_MAX_ROWS_PER_SECOND: '3000',
        BATCH_SIZE: '200',
      }),
    ]);
    await arm(20, 400);
    const pool = createMysqlPool(env.mysqlUrl);
    const crowd = runCrowd({
      redisUrl: env.redisUrl,
      keys,
      checkouts: 6000,
      ratePerSec: 2500,
      producers: 2,
      cart: (i) =>
        i % 4
          ? [{ sku: `S${i % 20}`, qty: 1 }]
          : [
              { sku: `S${i % 20}`, qty: 1 },
              { sku: `S${(i + 7) % 20}`, qty: 2 },
            ],
    });
    let samples = 0;
    let withInFlight = 0;
    const variances: unknown[] = [];
    let done = false;
    void crowd.finally(() => (done = true));
    while (!done || !(await drained(redis, keys))) {
      const reports = await reconcileAll(redis, pool, keys);
      samples++;
      if (reports[0]!.inFlightEntries > 0) withInFlight++;
      if (reports[0]!.totalAbsVariance !== 0) variances.push(reports[0]!.variances);
    }
    await crowd;
    const final = await reconcileAll(redis, pool, keys);
    await pool.end();
    expect(variances).toEqual([]);
    expect(final[0]!.totalAbsVariance).toBe(0);
    expect(final[0]!.inFlightEntries).toBe(0);
    // The samples really were taken under load, with entries in flight.
    expect(samples).toBeGreaterThan(10);
    expect(withInFlight).toBeGreaterThan(5);
  });

  it('shows an injected drift as exactly its size within one interval, on /metrics', async () => {
    await setup();
    services = await Promise.all([
      startService('reserver', { ...env.env, ...FAST }),
      startService('ledger-writer', { ...env.env, ...FAST }),
      startService('reconciler', { ...env.env, RECONCILE_INTERVAL_MS: '1000' }),
    ]);
    const reconciler = services[2]!;
    await arm(3, 100);
    await waitFor(async () => drained(redis, keys));
    await waitFor(
      async () =>
        ((await scrapeMetric(reconciler.port, 'holdfast_reconcile_runs_total', { result: 'ok' })) ??
          0) > 0,
      { what: 'a clean run' },
    );
    // Drift on both sides: Redis gains 7 available units behind the ledger's back on S0;
    // MySQL's books move 3 units of S1 from available to sold (Redis has 3 more available).
    await redis.hincrby(keys.shard().stock('S0'), 'available', 7);
    const c = createMysqlPool(env.mysqlUrl);
    await c.query(
      'UPDATE inventory_stock SET sold = sold + 3, available = available - 3 WHERE sku = ?',
      ['S1'],
    );
    await c.end();
    await waitFor(
      async () =>
        (await scrapeMetric(reconciler.port, 'holdfast_inventory_variance_units', {
          sku: 'S0',
        })) === 7,
      { timeoutMs: 5000, what: 'S0 variance 7' },
    );
    await waitFor(
      async () =>
        (await scrapeMetric(reconciler.port, 'holdfast_inventory_variance_units', {
          sku: 'S1',
        })) === 3,
      { timeoutMs: 5000, what: 'S1 variance 3' },
    );
    expect(
      await scrapeMetric(reconciler.port, 'holdfast_inventory_variance_units', { sku: '_total' }),
    ).toBe(10);
    expect(
      await scrapeMetric(reconciler.port, 'holdfast_inventory_variance_units', { sku: 'S2' }),
    ).toBeUndefined();
  });

  it('runs once per tick with three replicas', async () => {
    await setup();
    const started = Date.now();
    services = await Promise.all(
      [0, 1, 2].map(() =>
        startService('reconciler', { ...env.env, RECONCILE_INTERVAL_MS: '1000' }),
      ),
    );
    await waitFor(async () => (await redis.xlen(keys.streams.audit)) >= 8, {
      timeoutMs: 30_000,
      what: '8 runs',
    });
    await stopAll(services);
    const elapsedTicks = Math.ceil((Date.now() - started) / 1000) + 1;
    const audit = await readStream(redis, keys.streams.audit);
    const ticks = audit.map((a) => a.tick);
    expect(new Set(ticks).size).toBe(ticks.length); // no tick ran twice
    expect(audit.length).toBeLessThanOrEqual(elapsedTicks); // not more runs than ticks
    // Work was shared by whichever replica was free, but each tick by one.
    expect(new Set(audit.map((a) => a.worker)).size).toBeGreaterThanOrEqual(1);
  });
});
