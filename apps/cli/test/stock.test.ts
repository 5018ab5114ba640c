/**
 * stock show / reconcile (with compensation) / stock load against real Redis, MariaDB/MySQL,
 * a reserver and a ledger-writer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys, createRedis, readStock, type Redis } from '@holdfast/shared';
import { createMysqlPool, migrate, type Pool, type RowDataPacket } from '@holdfast/shared/mysql';
import { isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';
import { startService, stopAll, type RunningService } from '@holdfast/testkit';
import { HOLDFAST_BIN, commandLine, json } from '@holdfast/testkit';

const { run: runCli } = commandLine(HOLDFAST_BIN);

const FAST = { BLOCK_MS: '100', HOUSEKEEPING_MS: '500' };

async function books(pool: Pool, sku: string) {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT total, available, held, sold FROM inventory_stock WHERE sku = ?',
    [sku],
  );
  const r = rows[0];
  return r
    ? {
        total: Number(r.total),
        available: Number(r.available),
        held: Number(r.held),
        sold: Number(r.sold),
      }
    : null;
}

describe('holdfast stock show / reconcile', () => {
  let env: IsolatedEnv;
  let redis: Redis;
  let keys: Keys;
  let pool: Pool;
  let services: RunningService[] = [];

  beforeAll(async () => {
    env = await isolatedEnv();
    await migrate(env.mysqlUrl);
    keys = new Keys(env.namespace, 'main');
    redis = createRedis(env.redisUrl, { name: 'test' });
    pool = createMysqlPool(env.mysqlUrl, { connectionLimit: 2 });
    services = await Promise.all([
      startService('reserver', { ...env.env, ...FAST }),
      startService('ledger-writer', { ...env.env, ...FAST }),
    ]);
    for (const [sku, qty] of [
      ['A', '10'],
      ['B', '4'],
    ] as const) {
      const r = await runCli(['restock', sku, qty], env.env);
      expect(r.code, r.stderr).toBe(0);
    }
    await waitFor(
      async () => (await books(pool, 'A'))?.total === 10 && (await books(pool, 'B'))?.total === 4,
      {
        what: 'the ledger-writer to apply the restocks',
      },
    );
  });
  afterAll(async () => {
    await stopAll(services);
    redis.disconnect();
    await pool.end();
    await env.cleanup();
  });

  it('stock show --json: Redis, MySQL and variance per SKU', async () => {
    const r = await runCli(['stock', 'show', '--json'], env.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const counters = (total: number) => ({ total, available: total, held: 0, sold: 0 });
    expect(json(r)).toEqual({
      namespace: env.namespace,
      mysql: { ok: true },
      varianceSource: { ok: true },
      skus: [
        {
          sku: 'A',
          shard: 'main',
          redis: counters(10),
          mysql: counters(10),
          variance: 0,
          diff: null,
        },
        {
          sku: 'B',
          shard: 'main',
          redis: counters(4),
          mysql: counters(4),
          variance: 0,
          diff: null,
        },
      ],
      unknown: [],
    });
    const one = json(await runCli(['stock', 'show', 'B', '--json'], env.env));
    expect(one.skus.map((s: { sku: string }) => s.sku)).toEqual(['B']);
    const table = await runCli(['stock', 'show'], env.env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^sku\s+shard\s+r\.total\s+r\.avail\s+r\.held\s+r\.sold\s+m\.total.*variance$/m,
    );
    expect(table.stdout).toMatch(/^A\s+main\s+10\s+10\s+0\s+0\s+10\s+10\s+0\s+0\s+0$/m);
  });

  it('stock show: an unknown SKU exits 1; MySQL unreachable shows Redis with a warning', async () => {
    const unknown = await runCli(['stock', 'show', 'NOPE'], env.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown SKU: NOPE/);
    const down = await runCli(['stock', 'show', '--json'], {
      ...env.env,
      MYSQL_URL: 'mysql://root:hunter2@127.0.0.1:1/x',
    });
    expect(down.code).toBe(0);
    expect(down.stderr).toMatch(/warning: showing Redis only/);
    expect(down.stderr).not.toMatch(/hunter2/);
    const out = json(down);
    expect(out.mysql.ok).toBe(false);
    expect(out.skus[0]).toEqual({
      sku: 'A',
      shard: 'main',
      redis: { total: 10, available: 10, held: 0, sold: 0 },
      mysql: null,
      variance: null,
      diff: null,
    });
  });

  it('reconcile --once finds a drift, --compensate --yes repairs it through the ledger', async () => {
    const ok = await runCli(['reconcile', '--once'], env.env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/no variance/);

    // Drift: the books lose 3 units of A (as if a ledger row had been lost).
    await pool.query(
      'UPDATE inventory_stock SET total = total - 3, available = available - 3 WHERE sku = ?',
      ['A'],
    );
    const show = json(await runCli(['stock', 'show', 'A', '--json'], env.env));
    expect(show.skus[0]).toMatchObject({
      variance: 3,
      diff: { total: 3, available: 3, held: 0, sold: 0 },
    });

    const found = await runCli(['reconcile', '--once', '--json'], env.env);
    expect(found.code).toBe(1);
    const rep = json(found);
    expect(rep.ok).toBe(false);
    expect(rep.reports[0].variances).toEqual([
      expect.objectContaining({
        sku: 'A',
        variance: 3,
        diff: [3, 3, 0, 0],
        redis: [10, 10, 0, 0],
        mysql: [7, 7, 0, 0],
      }),
    ]);
    expect(rep.compensations).toEqual([]);

    const refused = await runCli(['reconcile', '--once', '--compensate'], env.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);

    const comp = await runCli(['reconcile', '--once', '--compensate', '--yes'], env.env);
    expect(comp.code).toBe(1);
    expect(comp.stdout).toMatch(
      /compensated A: wrote compensate:[0-9a-f-]{36} .*Δtotal 3 Δavailable 3 Δheld 0 Δsold 0/,
    );
    await waitFor(async () => (await books(pool, 'A'))?.total === 10, {
      what: 'the ledger-writer to apply the compensation',
    });
    // It went through the ledger (the stream entry itself may already be acked and trimmed):
    // one `compensate` row in MySQL's ledger, with the report's deltas.
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT change_id, event_id, checkout_id, sku, d_total, d_available, d_held, d_sold FROM inventory_ledger WHERE kind = 'compensate'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ checkout_id: '', sku: 'A' });
    expect(
      [rows[0]!.d_total, rows[0]!.d_available, rows[0]!.d_held, rows[0]!.d_sold].map(Number),
    ).toEqual([3, 3, 0, 0]);
    expect(rows[0]!.change_id).toBe(rows[0]!.event_id);
    expect(String(rows[0]!.change_id)).toMatch(/^compensate:[0-9a-f-]{36}$/);
    expect(await books(pool, 'A')).toEqual({ total: 10, available: 10, held: 0, sold: 0 });
    expect(await readStock(redis, keys, 'A')).toMatchObject({ total: 10, available: 10 });
    const after = await runCli(['reconcile', '--once'], env.env);
    expect(after.code).toBe(0);
  });
});

describe('holdfast stock load', () => {
  let env: IsolatedEnv;
  let redis: Redis;
  let keys: Keys;
  let pool: Pool;

  beforeAll(async () => {
    env = await isolatedEnv();
    await migrate(env.mysqlUrl);
    keys = new Keys(env.namespace, 'main');
    redis = createRedis(env.redisUrl, { name: 'test' });
    pool = createMysqlPool(env.mysqlUrl, { connectionLimit: 2 });
  });
  afterAll(async () => {
    redis.disconnect();
    await pool.end();
    await env.cleanup();
  });

  it("arms SKUs Redis does not know from the books, releasing the books' held units", async () => {
    await pool.query(
      'INSERT INTO inventory_stock (sku, total, available, held, sold, per_user_limit) VALUES (?,?,?,?,?,?), (?,?,?,?,?,?)',
      ['OLD', 10, 7, 1, 2, 3, 'KNOWN', 5, 5, 0, 0, 0],
    );
    await redis.hset(keys.shard().stock('KNOWN'), {
      total: 99,
      available: 99,
      held: 0,
      sold: 0,
      per_user: 0,
    });
    await redis.sadd(keys.shard().skus, 'KNOWN');

    const dry = await runCli(['stock', 'load', '--dry-run'], env.env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would seed OLD/);
    expect(await readStock(redis, keys, 'OLD')).toBeNull();

    const r = await runCli(['stock', 'load'], env.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/seeded OLD: total 10, sold 2, available 8 \(releasing 1 units/);
    expect(r.stdout).toMatch(/skip KNOWN/);
    expect(await readStock(redis, keys, 'OLD')).toEqual({
      total: 10,
      available: 8,
      held: 0,
      sold: 2,
      perUser: 3,
    });
    expect(await readStock(redis, keys, 'KNOWN')).toMatchObject({ total: 99 });

    const again = json(await runCli(['stock', 'load', '--json'], env.env));
    expect(again.results.map((x: { status: string }) => x.status)).toEqual(['exists', 'exists']);
    const missing = await runCli(['stock', 'load', 'NOPE'], env.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not in MySQL's books: NOPE/);

    // The release of the books' stale held unit went through the ledger: once the
    // ledger-writer applied it, MySQL equals Redis for the seeded SKU.
    const writer = await startService('ledger-writer', { ...env.env, ...FAST });
    try {
      await waitFor(async () => (await books(pool, 'OLD'))?.held === 0, { what: 'seed applied' });
      expect(await books(pool, 'OLD')).toEqual({ total: 10, available: 8, held: 0, sold: 2 });
      const rec = json(await runCli(['stock', 'show', 'OLD', '--json'], env.env));
      expect(rec.varianceSource.ok).toBe(true);
      expect(rec.skus.find((l: { sku: string }) => l.sku === 'OLD').variance).toBe(0);
    } finally {
      await stopAll([writer]);
    }
  });
});
