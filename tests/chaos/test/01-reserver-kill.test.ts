/**
 * 1. kill -9 a reserver mid-batch, then restart it: every event gets exactly one outcome and
 * one effect. The reserver runs in its own fleet with HOLDFAST_FAULT=reserver.after_decide:12
 * (each incarnation SIGKILLs itself after deciding its 12th batch, before acking it; the
 * supervisor restarts it), and the test SIGKILLs it three more times at moments it holds
 * pending entries.
 */
import { expect, it } from 'vitest';
import { scenario, names, sleep } from '../src/harness.js';
import { Shoppers } from '../src/load.js';

it('01 reserver kill -9 mid-batch', async () => {
  await scenario('01', 'reserver kill -9 mid-batch', {}, async (stage) => {
    const n = names(stage.namespace);
    await stage.fleet({ name: 's1base', only: ['ingest', 'ledger-writer', 'reconciler'] });
    const res = await stage.fleet({
      name: 's1res',
      only: ['reserver'],
      env: { HOLDFAST_FAULT: 'reserver.after_decide:12', BATCH_SIZE: '100' },
    });
    const skus = Object.fromEntries(Array.from({ length: 20 }, (_, s) => [`S${s}`, 120]));
    await stage.arm(skus);
    stage.startSampler();
    const shoppers = new Shoppers({
      redisUrl: stage.redisUrl,
      traffic: stage.traffic,
      checkouts: 2000,
      ratePerSec: 400,
      prefix: 'o',
      duplicateRate: 0.03,
      cart: (i) =>
        i % 4
          ? [[`S${i % 20}`, 1]]
          : [
              [`S${i % 20}`, 1],
              [`S${(i + 7) % 20}`, 2],
            ],
    }).start();
    const child = res.child('reserver');
    const held: number[] = [];
    for (let k = 0; k < 3; k++) {
      await sleep(1500);
      await res.waitRunning(child);
      held.push(await res.killWhenBusy(child, stage.redis, n.inbound, 'reserver'));
    }
    await res.waitRunning(child);
    const faultEnd = Date.now();
    stage.log('faults done');
    const recovery = stage.recovery(faultEnd);
    await shoppers.sent();
    stage.log('sent');
    const recoverMs = await recovery;
    stage.log('recovered');
    await stage.quiesce();
    stage.log('quiet');
    await shoppers.stop();
    const r = await stage.check();
    const selfKills = res.faultHits.get('reserver.after_decide') ?? 0;
    const f = stage.finish('01', 'reserver kill -9 mid-batch', r, {
      recoverMs,
      crashingFleets: [res],
      notes: `${selfKills} self-kills after decide, ${held.length} SIGKILLs holding ${held.join('/')} entries; ${res.crashes.length} crashes`,
    });
    expect(f).toEqual({});
    expect(selfKills).toBeGreaterThan(0);
    expect(held.some((h) => h > 0)).toBe(true);
  });
});
