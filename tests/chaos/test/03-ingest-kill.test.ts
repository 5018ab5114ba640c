/**
 * 3. kill -9 an ingest replica while it forwards: two ingest replicas, the test SIGKILLs them
 * at moments they hold pending checkout:events entries (four kills); the supervisor restarts
 * each under its stable consumer name, which takes its own pending entries back. Hostile
 * entries are mixed in, so dead-lettering (dead letter + XACK in one MULTI) is crashed too.
 */
import { expect, it } from 'vitest';
import { scenario, names, sleep } from '../src/harness.js';
import { Shoppers } from '../src/load.js';
import { checkoutGarbage } from '../src/garbage.js';

it('03 ingest kill -9 while forwarding', async () => {
  await scenario(
    '03',
    'ingest kill -9 while forwarding (2 replicas, hostile entries mixed in)',
    {},
    async (stage) => {
      const n = names(stage.namespace);
      await stage.fleet({ name: 's3base', only: ['reserver', 'ledger-writer', 'reconciler'] });
      const ing = await stage.fleet({
        name: 's3ing',
        only: ['ingest'],
        replicas: 2,
        env: { BATCH_SIZE: '100' },
      });
      const armed = Array.from({ length: 10 }, (_, s) => `I${s}`);
      await stage.arm(Object.fromEntries(armed.map((s) => [s, 200])));
      stage.startSampler();
      const shoppers = new Shoppers({
        redisUrl: stage.redisUrl,
        traffic: stage.traffic,
        checkouts: 2500,
        ratePerSec: 400,
        prefix: 'o',
        duplicateRate: 0.05,
        chunk: 200,
        cart: (i) => [[`I${i % 10}`, 1 + (i % 2)]],
      }).start();
      const garbage = checkoutGarbage(300, 3, armed);
      const sendingGarbage = (async () => {
        for (let i = 0; i < garbage.length; i += 30) {
          await stage.traffic.sendRaw(n.events, garbage.slice(i, i + 30));
          await sleep(150);
        }
      })();
      const held: number[] = [];
      for (const replica of [0, 1, 0, 0]) {
        await sleep(1200);
        const c = ing.child('ingest', replica);
        await ing.waitRunning(c);
        held.push(await ing.killWhenBusy(c, stage.redis, n.events, 'ingest', 6000, 20));
      }
      await ing.waitAllRunning();
      const faultEnd = Date.now();
      const recovery = stage.recovery(faultEnd);
      await Promise.all([shoppers.sent(), sendingGarbage]);
      const recoverMs = await recovery;
      await stage.quiesce();
      await shoppers.stop();
      const r = await stage.check();
      const f = stage.finish(
        '03',
        'ingest kill -9 while forwarding (2 replicas, hostile entries mixed in)',
        r,
        {
          recoverMs,
          crashingFleets: [ing],
          notes: `4 SIGKILLs holding ${held.join('/')} entries; ${garbage.length} hostile entries, ${r.deadLetters} dead letters`,
          lateExpiriesFail: true,
        },
      );
      expect(f).toEqual({});
      expect(held.filter((h) => h > 0).length).toBeGreaterThan(0);
    },
  );
});
