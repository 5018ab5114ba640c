/**
 * Phase 2, run the crowd: start watching (./observe), then replay the buyers with runCrowd —
 * producers XADD reserves at --rate, the follow-up loop confirms 60 %, cancels 20 % and
 * abandons 20 % of the holds — and give up if nothing moves for a minute.
 */
import { runCrowd, type CrowdResult } from '@holdfast/crowd';
import { CliError } from '@holdfast/shared/tools';
import type { DemoContext } from '../context.js';
import { Observers } from '../observe/observers.js';
import { STALL_MS, StallWatch } from '../observe/stall.js';
import type { DemoTarget } from '../setup/target.js';
import { makeCart, userCount } from './carts.js';

export interface CrowdRun {
  result: CrowdResult;
  users: number;
  /** When the crowd started (epoch ms). */
  startedAt: number;
  /** When the last reserve was sent. */
  sendDoneAt: number;
}

export async function replayCrowd(
  ctx: DemoContext,
  target: DemoTarget,
  placement: ReadonlyMap<string, string>,
): Promise<{ crowd: CrowdRun; observers: Observers }> {
  const o = ctx.o;
  const users = userCount(o.buyers);
  let sent = 0;
  let sendDoneAt = 0;
  const observers = await Observers.start(ctx, target, () => sent);
  ctx.io.out(
    `replaying the crowd: ${o.buyers.toLocaleString('en-US')} buyers (${users.toLocaleString('en-US')} users) from ${o.producers} producers` +
      `${o.rate ? ` at ${o.rate.toLocaleString('en-US')} buyers/s` : ' at full speed'}; 60% confirm, 20% cancel, 20% abandon (expire after ${o.holdSeconds} s)`,
  );
  observers.showProgress();
  const crowdAc = new AbortController();
  ctx.signal.addEventListener('abort', () => crowdAc.abort(), { once: true });
  const startedAt = Date.now();
  observers.sampler.start();
  const crowdP = runCrowd({
    redisUrl: target.redisUrl,
    clusterNodes: target.clusterNodes,
    keys: target.keys,
    checkouts: o.buyers,
    cart: makeCart({ buyers: o.buyers, warmSkus: o.warmSkus, placement }),
    users,
    confirmRate: 0.6,
    cancelRate: 0.2,
    producers: o.producers,
    ratePerSec: o.rate,
    chunk: 250,
    idPrefix: 'b',
    onSent: (n) => {
      sent = n;
      if (n >= o.buyers && !sendDoneAt) sendDoneAt = Date.now();
    },
    signal: crowdAc.signal,
  });
  const result = await awaitCrowd(ctx, crowdP, crowdAc, observers);
  if (!sendDoneAt) sendDoneAt = Date.now();
  return { crowd: { result, users, startedAt, sendDoneAt }, observers };
}

/** Awaits the crowd; aborts it when no event and no decision moved for STALL_MS. */
async function awaitCrowd(
  ctx: DemoContext,
  crowdP: Promise<CrowdResult>,
  crowdAc: AbortController,
  obs: Observers,
): Promise<CrowdResult> {
  const stall = new StallWatch();
  let stalled = false;
  const timer = setInterval(() => {
    if (stall.stalled(`${obs.outcomes.count}/${obs.events.count}`)) {
      stalled = true;
      crowdAc.abort();
    }
  }, 1_000);
  try {
    const res = await crowdP;
    ctx.check();
    if (stalled)
      throw new CliError(
        `the fleet stalled: no event or decision for ${STALL_MS / 1000} s (see fleet.log)`,
      );
    return res;
  } finally {
    clearInterval(timer);
  }
}
