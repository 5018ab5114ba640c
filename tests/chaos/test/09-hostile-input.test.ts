/**
 * 9. Hostile input at high rate: fast-check-generated garbage on checkout:events and
 * inventory:admin (random field names and values, huge values, deep JSON, unicode, invalid
 * UTF-8 via Buffer values, duplicated / missing fields, mutated valid events), pipelined as
 * fast as Redis takes it, next to a modest valid load. Every entry must end as an outcome or
 * a dead letter; no worker crashes or stalls (every /healthz answers 200 throughout, every
 * process stays alive; a /healthz that does not answer within 10 s counts as a stall), memory stays bounded, and the garbage changes no stock (the SKUs it
 * names keep their counters in Redis and MySQL; no SKU appears).
 */
import { expect, it } from 'vitest';
import { ChaosFleet } from '../src/fleet.js';
import { scenario, names, sleep } from '../src/harness.js';
import { Shoppers } from '../src/load.js';
import { adminGarbage, checkoutGarbage } from '../src/garbage.js';
import { mysqlStock, redisStock } from '../src/checker.js';

const ARMED = ['H0', 'H1', 'H2', 'H3'];
const RSS_LIMIT = 512 * 1048576;

it('09 hostile input at high rate', async () => {
  await scenario(
    '09',
    'hostile input (fast-check garbage) at high rate on both input streams',
    {},
    async (stage) => {
      const n = names(stage.namespace);
      const fleet = await stage.fleet({ name: 's9' });
      await stage.arm(
        Object.fromEntries([
          ...ARMED.map((s) => [s, 500]),
          ...['V0', 'V1', 'V2', 'V3'].map((s) => [s, 300]),
        ]),
      );
      // Wait for the arming restocks to reach MySQL, then take the "before" picture.
      const recovery0 = await stage.recovery(Date.now());
      void recovery0;
      const before = await redisStock(stage.redis, stage.namespace);
      // Generated up front: fast-check takes seconds of this process's CPU, which would delay
      // the health probes below and look like a stalled service.
      const checkout = checkoutGarbage(3000, 9001, ARMED);
      const admin = adminGarbage(800, 9002, ARMED);
      stage.startSampler();
      const rss = new Map<string, number>();
      const unhealthy: string[] = [];
      const slowest = new Map<string, number>();
      let watching = true;
      // This process's own event-loop delay, so a slow probe is not blamed on the service.
      let selfLag = 0;
      let lastTick = Date.now();
      const lagTimer = setInterval(() => {
        selfLag = Math.max(selfLag, Date.now() - lastTick - 50);
        lastTick = Date.now();
      }, 50);
      const watcher = (async () => {
        while (watching) {
          for (const c of fleet.children) {
            const v = ChaosFleet.rss(c.pid);
            if (v) rss.set(c.service, Math.max(rss.get(c.service) ?? 0, v));
            const h = await ChaosFleet.probe(c, 10_000);
            slowest.set(c.service, Math.max(slowest.get(c.service) ?? 0, h.ms));
            if (h.status !== 200)
              unhealthy.push(
                `${new Date().toISOString()} ${c.name}: /healthz ${h.status} after ${h.ms} ms (${h.detail})`,
              );
          }
          await sleep(300);
        }
      })();
      const shoppers = new Shoppers({
        redisUrl: stage.redisUrl,
        traffic: stage.traffic,
        checkouts: 800,
        ratePerSec: 150,
        prefix: 'o',
        cart: (i) => [[`V${i % 4}`, 1]],
      }).start();
      const t0 = Date.now();
      await Promise.all([
        (async () => {
          for (let i = 0; i < checkout.length; i += 500)
            await stage.traffic.sendRaw(n.events, checkout.slice(i, i + 500));
        })(),
        (async () => {
          for (let i = 0; i < admin.length; i += 200)
            await stage.traffic.sendRaw(n.admin, admin.slice(i, i + 200));
        })(),
      ]);
      const floodMs = Date.now() - t0;
      const floodEnd = Date.now();
      stage.log(`sent ${checkout.length} + ${admin.length} hostile entries in ${floodMs} ms`);
      const recoverMs = await stage.recovery(floodEnd, 40_000);
      await shoppers.sent();
      await stage.quiesce();
      await shoppers.stop();
      watching = false;
      await watcher;
      clearInterval(lagTimer);
      const afterRedis = await redisStock(stage.redis, stage.namespace);
      const afterMysql = await mysqlStock(stage.mysqlUrl);
      const changed: string[] = [];
      for (const sku of ARMED) {
        if (JSON.stringify(afterRedis.get(sku)) !== JSON.stringify(before.get(sku)))
          changed.push(
            `redis ${sku}: ${JSON.stringify(before.get(sku))} → ${JSON.stringify(afterRedis.get(sku))}`,
          );
        if (JSON.stringify(afterMysql.get(sku)) !== JSON.stringify(before.get(sku)))
          changed.push(
            `mysql ${sku}: ${JSON.stringify(before.get(sku))} → ${JSON.stringify(afterMysql.get(sku))}`,
          );
      }
      const newSkus = [...new Set([...afterRedis.keys(), ...afterMysql.keys()])].filter(
        (s) => !before.has(s),
      );
      const dead = await stage.redis.xlen(n.dead);
      const reasons = new Map<string, number>();
      for (const { f } of await (await import('../src/checker.js')).readAll(stage.redis, n.dead))
        reasons.set(f.reason!, (reasons.get(f.reason!) ?? 0) + 1);
      const r = await stage.check();
      const mb = (b: number) => Math.round(b / 1048576);
      const tooBig = [...rss]
        .filter(([, v]) => v > RSS_LIMIT)
        .map(([s, v]) => `${s}: RSS ${mb(v)} MB > ${mb(RSS_LIMIT)} MB`);
      const f = stage.finish(
        '09',
        'hostile input (fast-check garbage) at high rate on both input streams',
        r,
        {
          recoverMs,
          notes:
            `${checkout.length} checkout + ${admin.length} admin hostile entries in ${(floodMs / 1000).toFixed(1)} s → ${dead} dead letters ` +
            `(${[...reasons]
              .sort((a, b) => b[1] - a[1])
              .slice(0, 6)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}…); ` +
            `max RSS ${[...rss].map(([s, v]) => `${s} ${mb(v)} MB`).join(', ')}; slowest /healthz ${[...slowest].map(([s, v]) => `${s} ${v} ms`).join(', ')}, non-200 ${unhealthy.length} (the prober's own event loop lagged up to ${selfLag} ms); crashes ${fleet.crashes.length}`,
          lateExpiriesFail: true,
          extraFailures: {
            stockChangedByGarbage: changed,
            newSkus,
            unhealthy: unhealthy.slice(0, 10),
            crashes: fleet.crashes.map((c) => `${c.child} exited ${c.code ?? c.signal}`),
            fatalLogs: fleet.fatal.map((l) => `${l.child}: ${l.line.slice(0, 300)}`).slice(0, 5),
            memory: tooBig,
          },
        },
      );
      expect(f).toEqual({});
      expect(reasons.get('wrong_stream')).toBeGreaterThanOrEqual(2);
    },
  );
});
