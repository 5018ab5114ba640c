/**
 * 10. Connection cuts during a 10 000-event soak on the scenario's own Redis: every second the
 * workers' connections are killed (`CLIENT KILL ID` of every holdfast-* connection, and every
 * other time `CLIENT KILL TYPE normal SKIPME yes`, which also cuts the producers and the
 * blocked XREADGROUPs), and Redis is restarted twice (SIGTERM: AOF fsynced, nothing lost).
 * Every event must be decided exactly once, hostile entries dead-lettered exactly once, and
 * the blocked reads must come back after each cut (each service's blocking connection is
 * seen again in CLIENT LIST, and outcomes keep flowing).
 */
import { expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { scenario, names, sleep, until } from '../src/harness.js';
import { Shoppers } from '../src/load.js';
import { checkoutGarbage } from '../src/garbage.js';

/** Every blocking reader of a one-shard fleet (the shard's lanes are named after it). */
const READERS = [
  'holdfast-ingest-read',
  'holdfast-reserver-read-main',
  'holdfast-reserver-relay-main',
  'holdfast-reserver-admin',
  'holdfast-ledger-writer-read-main',
];

async function clients(r: Redis): Promise<Array<Record<string, string>>> {
  const text = (await r.client('LIST')) as string;
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) =>
      Object.fromEntries(
        l.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
    );
}

it('10 connection cuts and Redis restarts during a 10 000-event soak', async () => {
  await scenario(
    '10',
    'connection cuts (CLIENT KILL) + 2 Redis restarts, 10 000-event soak',
    { privateRedis: true },
    async (stage) => {
      const n = names(stage.namespace);
      const redisServer = stage.redisServer!;
      await stage.fleet({ name: 's10' });
      await stage.arm(Object.fromEntries(Array.from({ length: 20 }, (_, s) => [`K${s}`, 250])));
      stage.startSampler();
      const killer = redisServer.client('chaos-killer');
      const shoppers = new Shoppers({
        redisUrl: stage.redisUrl,
        traffic: stage.traffic,
        checkouts: 6000,
        ratePerSec: 350,
        prefix: 'o',
        duplicateRate: 0.02,
        cart: (i) =>
          i % 5
            ? [[`K${i % 20}`, 1]]
            : [
                [`K${i % 20}`, 1],
                [`K${(i + 9) % 20}`, 1],
              ],
      }).start();
      // Hostile entries go through the killer's connection (SKIPME: never cut), before the
      // first restart, so a cut can't make the test itself send one twice.
      const garbage = checkoutGarbage(200, 10, ['K0', 'K1']);
      const garbageTraffic = stage.traffic.via(killer);
      let cuts = 0;
      let killedConns = 0;
      const resumeMs: number[] = [];
      const restarts: number[] = [];
      const t0 = Date.now();
      let lastFault = Date.now();
      while (shoppers.sentReserves < 6000) {
        const elapsed = Date.now() - t0;
        if (restarts.length < 2 && elapsed > 5000 + restarts.length * 6000) {
          await redisServer.stop();
          await sleep(300);
          await redisServer.restart();
          restarts.push(Date.now() - t0);
          stage.log(`redis restarted (${restarts.length})`);
        } else {
          if (cuts * 10 < garbage.length)
            await garbageTraffic.sendRaw(n.events, garbage.slice(cuts * 10, cuts * 10 + 10));
          const before = await stage.redis.xlen(n.outcomes).catch(() => 0);
          if (cuts % 2 === 0) {
            const ids = (await clients(killer))
              .filter((c) => c.name?.startsWith('holdfast-'))
              .map((c) => c.id!);
            for (const id of ids)
              killedConns += Number(await killer.client('KILL', 'ID', id).catch(() => 0));
          } else {
            killedConns += Number(await killer.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
          }
          cuts++;
          const cutAt = Date.now();
          await until(
            async () => {
              const names = new Set((await clients(killer)).map((c) => c.name));
              return (
                READERS.every((x) => names.has(x)) && (await stage.redis.xlen(n.outcomes)) > before
              );
            },
            'blocked readers back and outcomes flowing after a cut',
            20_000,
            25,
          );
          resumeMs.push(Date.now() - cutAt);
        }
        lastFault = Date.now();
        await sleep(1000);
      }
      if (cuts * 10 < garbage.length)
        await garbageTraffic.sendRaw(n.events, garbage.slice(cuts * 10));
      const recoverMs = await stage.recovery(lastFault);
      await stage.quiesce();
      await shoppers.stop();
      killer.disconnect();
      const r = await stage.check();
      const f = stage.finish(
        '10',
        'connection cuts (CLIENT KILL) + 2 Redis restarts, 10 000-event soak',
        r,
        {
          recoverMs,
          notes:
            `${cuts} cuts (${killedConns} connections killed), restarts at ${restarts.map((x) => `${(x / 1000).toFixed(1)} s`).join(', ')}; ` +
            `blocked reads back and outcomes flowing ${Math.min(...resumeMs)}–${Math.max(...resumeMs)} ms after a cut; ` +
            `${stage.traffic.retriedSends} producer sends retried; ${r.deadLetters} dead letters for ${garbage.length} hostile entries`,
          lateExpiriesFail: true,
        },
      );
      expect(f).toEqual({});
      expect(r.sentEvents).toBeGreaterThanOrEqual(10_000);
      expect(restarts).toHaveLength(2);
      expect(cuts).toBeGreaterThan(3);
    },
  );
});
