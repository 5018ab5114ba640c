/**
 * 2. kill -9 a ledger-writer before COMMIT, after COMMIT but before XACK, and while claiming
 * another replica's entries: every state change ends as exactly one ledger row.
 *
 * Three ledger-writer fleets run side by side, each crash-looping on its own fault point
 * (HOLDFAST_FAULT=<point>:<n>, the supervisor restarts the child after a 1.5 s backoff, longer
 * than CLAIM_IDLE_MS, so the other writers claim the dead one's entries in the meantime):
 *   W1 ledger.before_commit:4   — the transaction is rolled back by the crash
 *   W2 ledger.after_commit:4    — committed, never acked: redelivered, must be skipped
 *   W3 worker.after_claim:1     — dies right after XAUTOCLAIM took W1/W2's entries
 * plus a SIGKILL of W3 from the test while it holds entries.
 */
import { expect, it } from 'vitest';
import { scenario, names, sleep } from '../src/harness.js';
import { Shoppers } from '../src/load.js';

it('02 ledger-writer kill -9 before commit, after commit, while claiming', async () => {
  await scenario(
    '02',
    'ledger-writer kill -9 before/after commit, while claiming',
    {},
    async (stage) => {
      const n = names(stage.namespace);
      const writerEnv = {
        BATCH_SIZE: '50',
        CLAIM_IDLE_MS: '1000',
        LEDGER_MAX_ROWS_PER_SECOND: '1500',
      };
      const backoff = { initialMs: 1500, maxMs: 1500 };
      await stage.fleet({ name: 's2base', only: ['ingest', 'reserver', 'reconciler'] });
      const w1 = await stage.fleet({
        name: 's2w1',
        only: ['ledger-writer'],
        backoff,
        env: { ...writerEnv, HOLDFAST_FAULT: 'ledger.before_commit:4' },
      });
      const w2 = await stage.fleet({
        name: 's2w2',
        only: ['ledger-writer'],
        backoff,
        env: { ...writerEnv, HOLDFAST_FAULT: 'ledger.after_commit:4' },
      });
      const w3 = await stage.fleet({
        name: 's2w3',
        only: ['ledger-writer'],
        backoff,
        env: { ...writerEnv, HOLDFAST_FAULT: 'worker.after_claim:1' },
      });
      await stage.arm(Object.fromEntries(Array.from({ length: 16 }, (_, s) => [`L${s}`, 150])));
      stage.startSampler();
      const shoppers = new Shoppers({
        redisUrl: stage.redisUrl,
        traffic: stage.traffic,
        checkouts: 2000,
        ratePerSec: 250,
        prefix: 'o',
        duplicateRate: 0.02,
        cart: (i) =>
          i % 3
            ? [[`L${i % 16}`, 1]]
            : [
                [`L${i % 16}`, 1],
                [`L${(i + 5) % 16}`, 1],
              ],
      }).start();
      await sleep(3000);
      const held = await w3.killWhenBusy(
        w3.child('ledger-writer'),
        stage.redis,
        n.ledger,
        'ledger-writer',
        8000,
      );
      await shoppers.sent();
      stage.log('sent');
      // Keep going until every fault point fired at least once (the load's tail feeds them).
      const fired = () =>
        ['ledger.before_commit', 'ledger.after_commit', 'worker.after_claim'].map(
          (p) =>
            (w1.faultHits.get(p) ?? 0) + (w2.faultHits.get(p) ?? 0) + (w3.faultHits.get(p) ?? 0),
        );
      for (const f of [w1, w2, w3]) await f.waitAllRunning();
      const faultEnd = Date.now();
      const recoverMs = await stage.recovery(faultEnd);
      stage.log('recovered');
      await stage.quiesce();
      await shoppers.stop();
      const r = await stage.check();
      const [bc, ac, cl] = fired();
      const f = stage.finish('02', 'ledger-writer kill -9 before/after commit, while claiming', r, {
        recoverMs,
        crashingFleets: [w1, w2, w3],
        notes: `self-kills: before_commit ${bc}, after_commit ${ac}, after_claim ${cl}; SIGKILL holding ${held} entries`,
      });
      expect(f).toEqual({});
      expect(bc).toBeGreaterThan(0);
      expect(ac).toBeGreaterThan(0);
      expect(cl).toBeGreaterThan(0);
    },
  );
});
