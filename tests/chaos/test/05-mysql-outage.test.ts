/**
 * 5. MySQL stopped for 30 s under load (the scenario's own MariaDB): decisions go on in
 * Redis, the ledger backlog waits in the stream, the ledger-writer retries its batch in hand
 * with backoff and its memory stays bounded (RSS sampled from /proc); after the restart
 * everything drains and the reconciler reads variance 0.
 */
import { expect, it } from 'vitest';
import { ChaosFleet } from '../src/fleet.js';
import { scenario, names, runCli, sleep, until } from '../src/harness.js';
import { Shoppers } from '../src/load.js';

it('05 MySQL stopped 30 s under load', async () => {
  await scenario(
    '05',
    'MySQL stopped 30 s under load (private MariaDB)',
    { privateMysql: true },
    async (stage) => {
      const n = names(stage.namespace);
      const fleet = await stage.fleet({ name: 's5' });
      const writer = fleet.child('ledger-writer');
      const reconciler = fleet.child('reconciler');
      await stage.arm(Object.fromEntries(Array.from({ length: 12 }, (_, s) => [`M${s}`, 200])));
      stage.startSampler();
      const shoppers = new Shoppers({
        redisUrl: stage.redisUrl,
        traffic: stage.traffic,
        checkouts: 3000,
        ratePerSec: 100,
        prefix: 'o',
        cart: (i) =>
          i % 3
            ? [[`M${i % 12}`, 1]]
            : [
                [`M${i % 12}`, 1],
                [`M${(i + 5) % 12}`, 2],
              ],
      }).start();
      const rss: number[] = [];
      const lag: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const v = ChaosFleet.rss(writer.pid);
          if (v) rss.push(v);
          const len = await stage.redis.xlen(n.ledger).catch(() => 0);
          lag.push(len);
          await sleep(250);
        }
      })();
      await sleep(3000);
      const rssBefore = Math.max(...rss);
      await stage.mysqlServer!.stop();
      const stoppedAt = Date.now();
      stage.log('MySQL stopped');
      let writerUnhealthy = 0;
      while (Date.now() - stoppedAt < 30_000) {
        if ((await ChaosFleet.healthz(writer)) !== 200) writerUnhealthy++;
        await sleep(1000);
      }
      const rssDuring = Math.max(...rss);
      const backlogAtRestart = await stage.redis.xlen(n.ledger);
      const outcomesDuring = await stage.redis.xlen(n.outcomes);
      await stage.mysqlServer!.restart();
      const restartedAt = Date.now();
      stage.log(`MySQL restarted; ledger stream holds ${backlogAtRestart} entries`);
      const recoverMs = await stage.recovery(restartedAt);
      await shoppers.sent();
      await stage.quiesce();
      await shoppers.stop();
      sampling = false;
      await sampler;
      const cli = await runCli(['reconcile', '--once', '--json'], stage.env());
      const variance = (JSON.parse(cli.stdout) as { reports: Array<{ totalAbsVariance: number }> })
        .reports[0]!.totalAbsVariance;
      await until(
        async () =>
          (await ChaosFleet.metric(reconciler, 'holdfast_inventory_variance_units', {
            sku: '_total',
          })) === 0,
        'the reconciler service reading 0',
        30_000,
        250,
      );
      const retries =
        (await ChaosFleet.metric(writer, 'holdfast_ledger_retries_total', {
          reason: 'connection',
        })) ?? 0;
      const r = await stage.check();
      const mb = (b: number) => `${Math.round(b / 1048576)} MB`;
      const f = stage.finish('05', 'MySQL stopped 30 s under load (private MariaDB)', r, {
        recoverMs,
        notes:
          `ledger backlog ${backlogAtRestart} entries at restart (max stream length ${Math.max(...lag)}), ${outcomesDuring} outcomes decided meanwhile; ` +
          `writer RSS ${mb(rssBefore)} before, max ${mb(rssDuring)} during the outage, max ${mb(Math.max(...rss))} overall; ` +
          `${retries} connection retries, /healthz non-200 in ${writerUnhealthy} of 30 probes; variance after: ${variance}`,
        lateExpiriesFail: true,
        extraFailures: {
          ...(variance !== 0 ? { variance: [`reconcile reports ${variance}`] } : {}),
          ...(rssDuring > rssBefore + 150 * 1048576
            ? { memory: [`writer RSS grew from ${mb(rssBefore)} to ${mb(rssDuring)}`] }
            : {}),
        },
      });
      expect(f).toEqual({});
      expect(backlogAtRestart).toBeGreaterThan(1000);
      expect(retries).toBeGreaterThan(0);
      expect(fleet.crashes).toEqual([]);
    },
  );
});
