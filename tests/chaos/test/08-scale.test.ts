/**
 * 8. Scale 1 → 3 → 1 replicas of every service under load, scaling in with SIGTERM: a second
 * fleet of two replicas per service joins mid-load and is stopped (SIGTERM, graceful) while
 * the load goes on. Afterwards no pending entry is orphaned (every group's PEL empty), no hold
 * is released twice (one `expired` or confirm/cancel per hold, checked by the checker), holds
 * expire within deadline + sweep interval, and the reconcilers (three of them at peak) ran
 * each tick once (audit stream ticks unique).
 */
import { expect, it } from 'vitest';
import { scenario, names, readAll, sleep } from '../src/harness.js';
import { Shoppers } from '../src/load.js';

it('08 scale 1 → 3 → 1 with SIGTERM under load', async () => {
  await scenario(
    '08',
    'scale 1 → 3 → 1 replicas per service, SIGTERM scale-in under load',
    {},
    async (stage) => {
      const n = names(stage.namespace);
      const base = await stage.fleet({ name: 's8a' });
      await stage.arm(Object.fromEntries(Array.from({ length: 16 }, (_, s) => [`C${s}`, 150])));
      stage.startSampler();
      const shoppers = new Shoppers({
        redisUrl: stage.redisUrl,
        traffic: stage.traffic,
        checkouts: 4000,
        ratePerSec: 300,
        prefix: 'o',
        duplicateRate: 0.02,
        cart: (i) =>
          i % 4
            ? [[`C${i % 16}`, 1]]
            : [
                [`C${i % 16}`, 1],
                [`C${(i + 3) % 16}`, 1],
              ],
      }).start();
      await sleep(2000);
      const extra = await stage.fleet({ name: 's8b', replicas: 2, env: { BATCH_SIZE: '50' } });
      stage.log('scaled out to 3 replicas per service');
      await sleep(5000);
      const stopT0 = Date.now();
      const { killed } = await extra.stop();
      const stopMs = Date.now() - stopT0;
      const scaledInAt = Date.now();
      stage.log(`scaled in with SIGTERM in ${stopMs} ms (${killed} killed at the deadline)`);
      const recovery = stage.recovery(scaledInAt);
      await shoppers.sent();
      const recoverMs = await recovery;
      await stage.quiesce();
      await shoppers.stop();
      const audit = await readAll(stage.redis, n.audit);
      const ticks = audit.map((a) => a.f.tick ?? '').filter((t) => t !== 'manual');
      const dupTicks = ticks.filter((t, i) => ticks.indexOf(t) !== i);
      const workers = new Set(audit.map((a) => a.f.worker));
      // A service exits 128+15 after a clean SIGTERM shutdown (shared/src/shutdown.ts).
      const exits = extra.events.filter((e) => e.type === 'exit');
      const unclean = exits
        .filter((e) => e.code !== 143)
        .map((e) => `${e.child}: exit ${e.code ?? e.signal}`);
      const cleanLogs = extra.lines.filter((l) => l.line.includes('"shut down cleanly"')).length;
      if (cleanLogs !== exits.length)
        unclean.push(`${cleanLogs} "shut down cleanly" lines for ${exits.length} exits`);
      const r = await stage.check();
      const f = stage.finish(
        '08',
        'scale 1 → 3 → 1 replicas per service, SIGTERM scale-in under load',
        r,
        {
          recoverMs,
          notes:
            `6 extra replicas stopped in ${stopMs} ms, ${killed} killed, unclean exits ${unclean.length}; ` +
            `${audit.length} reconcile runs by ${workers.size} replicas, ${dupTicks.length} duplicate ticks; ` +
            `expiries ${r.byStatus.expired ?? 0}, max ${r.maxExpiryDelayMs} ms past deadline; base crashes ${base.crashes.length}`,
          lateExpiriesFail: true,
          extraFailures: { duplicateTicks: dupTicks.slice(0, 10), uncleanExits: unclean },
        },
      );
      expect(f).toEqual({});
      expect(killed).toBe(0);
      expect(audit.length).toBeGreaterThan(3);
    },
  );
});
