/**
 * 6. Deadlocks and lock-wait timeouts injected into the ledger-writer (the scenario's own
 * MariaDB, innodb_lock_wait_timeout=1):
 *   - a "holder" connection repeatedly locks the hot SKUs' inventory_stock rows with
 *     SELECT … FOR UPDATE and keeps them 1.5 s: the writer's transaction waits past the
 *     timeout and gets 1205;
 *   - a "crosser" connection locks the rows in the opposite order to the writer (highest SKU
 *     first, then the lowest), after making itself heavy (updates 3 000 rows of its own
 *     table) so InnoDB picks the writer as the deadlock victim: 1213.
 * Both must be retried (holdfast_ledger_retries_total{reason} on the writer's /metrics) and
 * nothing doubled or lost.
 */
import { expect, it } from 'vitest';
import type { Connection } from 'mysql2/promise';
import { ChaosFleet } from '../src/fleet.js';
import { scenario, sleep, until } from '../src/harness.js';
import { Shoppers } from '../src/load.js';

const SKUS = Array.from({ length: 8 }, (_, s) => `D${s}`);

async function lockLoop(
  conn: Connection,
  db: string,
  stop: () => boolean,
  body: (c: Connection) => Promise<void>,
  counts: { runs: number; errors: Record<string, number> },
) {
  await conn.query(`USE ${db}`);
  await conn.query('SET SESSION innodb_lock_wait_timeout = 5');
  while (!stop()) {
    try {
      await conn.query('START TRANSACTION');
      await body(conn);
      await conn.query('COMMIT');
      counts.runs++;
    } catch (err) {
      const code = String((err as { code?: string }).code ?? (err as Error).message);
      counts.errors[code] = (counts.errors[code] ?? 0) + 1;
      await conn.query('ROLLBACK').catch(() => {});
    }
    await sleep(250);
  }
}

it('06 deadlocks and lock-wait timeouts in the ledger-writer', async () => {
  const conns: Connection[] = [];
  await scenario(
    '06',
    'deadlocks (1213) and lock-wait timeouts (1205) in the ledger-writer',
    { privateMysql: { lockWaitTimeout: 1 } },
    async (stage) => {
      const db = stage.mysqlServer!;
      try {
        const fleet = await stage.fleet({
          name: 's6',
          env: { BATCH_SIZE: '200', LEDGER_MAX_ROWS_PER_SECOND: '0' },
        });
        const writer = fleet.child('ledger-writer');
        await stage.arm(Object.fromEntries(SKUS.map((s) => [s, 400])));
        await until(async () => {
          const rows = (await db.query(
            'SELECT COUNT(*) AS n FROM inventory_stock',
            [],
            stage.database,
          )) as Array<{ n: number }>;
          return Number(rows[0]!.n) === SKUS.length;
        }, 'stock rows in MySQL');
        await db.query('CREATE DATABASE chaos_locker');
        await db.query(
          'CREATE TABLE chaos_locker.pad (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB',
        );
        await db.query(
          `INSERT INTO chaos_locker.pad (id, v) VALUES ${Array.from({ length: 3000 }, (_, i) => `(${i}, 0)`).join(',')}`,
        );
        stage.startSampler();
        const shoppers = new Shoppers({
          redisUrl: stage.redisUrl,
          traffic: stage.traffic,
          checkouts: 2500,
          ratePerSec: 250,
          prefix: 'o',
          // Every cart holds the lowest or the highest SKU, so every batch locks both.
          cart: (i) =>
            [
              [SKUS[i % 8]!, 1],
              [i % 2 ? 'D0' : 'D7', 1],
            ].filter((l, k, a) => k === 0 || l[0] !== a[0]![0]) as Array<[string, number]>,
        }).start();
        let stopped = false;
        const holder = { runs: 0, errors: {} as Record<string, number> };
        const crosser = { runs: 0, errors: {} as Record<string, number> };
        conns.push(await db.connect(), await db.connect());
        const loops = [
          lockLoop(
            conns[0]!,
            stage.database,
            () => stopped,
            async (c) => {
              await c.query('SELECT sku FROM inventory_stock WHERE sku IN (?) FOR UPDATE', [
                SKUS.slice(2, 6),
              ]);
              await sleep(1500);
            },
            holder,
          ),
          lockLoop(
            conns[1]!,
            stage.database,
            () => stopped,
            async (c) => {
              await c.query('UPDATE chaos_locker.pad SET v = v + 1');
              await c.query('SELECT sku FROM inventory_stock WHERE sku = ? FOR UPDATE', ['D7']);
              await sleep(150);
              await c.query('SELECT sku FROM inventory_stock WHERE sku = ? FOR UPDATE', ['D0']);
            },
            crosser,
          ),
        ];
        const metric = async (reason: string) =>
          (await ChaosFleet.metric(writer, 'holdfast_ledger_retries_total', { reason })) ?? 0;
        await shoppers.sent();
        await until(
          async () => (await metric('deadlock')) > 0 && (await metric('lock_timeout')) > 0,
          'a deadlock and a lock timeout retried',
          30_000,
          500,
        ).catch(() => {});
        stopped = true;
        await Promise.all(loops);
        const faultEnd = Date.now();
        stage.log(
          `lockers stopped: holder ${JSON.stringify(holder)}, crosser ${JSON.stringify(crosser)}`,
        );
        const recoverMs = await stage.recovery(faultEnd);
        await stage.quiesce();
        await shoppers.stop();
        const deadlocks = await metric('deadlock');
        const timeouts = await metric('lock_timeout');
        const r = await stage.check();
        const f = stage.finish(
          '06',
          'deadlocks (1213) and lock-wait timeouts (1205) in the ledger-writer',
          r,
          {
            recoverMs,
            notes:
              `writer retries: deadlock ${deadlocks}, lock_timeout ${timeouts}, duplicate_race ${await metric('duplicate_race')}; ` +
              `holder ${holder.runs} lock rounds, crosser ${crosser.runs} rounds (its own errors ${JSON.stringify(crosser.errors)})`,
            lateExpiriesFail: true,
          },
        );
        expect(f).toEqual({});
        expect(deadlocks).toBeGreaterThan(0);
        expect(timeouts).toBeGreaterThan(0);
      } finally {
        for (const c of conns) await c.end().catch(() => {});
      }
    },
  );
});
