/**
 * Phase 3's end, settle: wait until every abandoned hold expired (holds:due empty) and every
 * stream drained (no group lag or pending entries), the demo's tap included.
 */
import { drained } from '@holdfast/shared/inspect';
import { CliError } from '@holdfast/shared/tools';
import type { Redis } from '@holdfast/shared';
import type { DemoContext } from '../context.js';
import type { DemoTarget } from '../setup/target.js';
import type { Observers } from './observers.js';
import { StallWatch } from './stall.js';

/** Waits until no hold is active and every stream is drained (nothing moving = stall). */
export async function settle(ctx: DemoContext, target: DemoTarget, obs: Observers): Promise<void> {
  const redis = ctx.redis!;
  const stall = new StallWatch();
  for (;;) {
    ctx.check();
    const [holds, done, tapLag] = await Promise.all([
      activeHolds(redis, target),
      drained(redis, target.keys),
      obs.events.lag(redis),
    ]);
    if (holds === 0 && done && tapLag === 0) return;
    const s = obs.sampler.latest();
    if (stall.stalled(`${holds}/${obs.outcomes.count}/${s?.ledgerLag}/${s?.eventBacklog}`)) {
      throw new CliError(
        `the fleet stalled while settling (${holds} active holds, streams drained: ${done}); see fleet.log`,
      );
    }
    await ctx.pause(100);
  }
}

/** Holds not yet confirmed, cancelled or expired, on every shard (each shard's holds:due). */
export async function activeHolds(redis: Redis, target: DemoTarget): Promise<number> {
  const counts = await Promise.all(
    target.keys.allShards.map((s) => redis.zcard(target.keys.shard(s).holdsDue)),
  );
  return counts.reduce((n, c) => n + c, 0);
}
