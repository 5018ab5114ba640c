/**
 * What the demo watches while the crowd runs, without taking part in the pipeline: the event
 * tap (XADD times), the outcome tap (every decision), the sampler (the series) and the live
 * progress. Started before the crowd's first XADD, stopped once the run settled.
 */
import type { DemoContext } from '../context.js';
import { ledgerWriterPorts } from '../setup/fleet.js';
import { redisTargetOf, type DemoTarget } from '../setup/target.js';
import { EventTap } from './event-tap.js';
import { OutcomeTap } from './outcome-tap.js';
import { createProgress } from './progress.js';
import { Sampler, type Sample } from './sampler.js';

/** The sampler's interval: the report's series resolution and the stock checks' cadence. */
export const SAMPLE_MS = 250;

export class Observers {
  private stopped = false;

  private constructor(
    private readonly ctx: DemoContext,
    readonly events: EventTap,
    readonly outcomes: OutcomeTap,
    readonly sampler: Sampler,
  ) {}

  /** Starts both taps and sets the sampler's t = 0; `sent` counts the crowd's reserves so far. */
  static async start(ctx: DemoContext, target: DemoTarget, sent: () => number): Promise<Observers> {
    const events = new EventTap(redisTargetOf(target), target.keys);
    await events.start();
    const outcomes = new OutcomeTap(redisTargetOf(target), target.keys);
    outcomes.start();
    const fleet = ctx.fleet!;
    const sampler = new Sampler(
      {
        redis: ctx.redis!,
        keys: target.keys,
        outcomes,
        events,
        sent,
        ledgerWriterPorts: () => ledgerWriterPorts(fleet),
      },
      Date.now(),
      SAMPLE_MS,
    );
    return (ctx.observers = new Observers(ctx, events, outcomes, sampler));
  }

  /** Shows the live progress (and warns once if the fleet falls behind). */
  showProgress(): void {
    const { o } = this.ctx;
    const progress = createProgress({
      enabled: o.progress,
      buyers: o.buyers,
      out: this.ctx.io.out,
    });
    this.ctx.progress = progress;
    let warnedBehind = false;
    this.sampler.onSample((s) => {
      progress.update(s);
      if (!warnedBehind && fallingBehind(s, o.rate, o.holdSeconds)) {
        warnedBehind = true;
        this.ctx.say(
          `warning: the fleet is falling behind (${s.eventBacklog.toLocaleString('en-US')} events waiting); ` +
            'confirms may arrive after their holds expired — a lower --rate suits this machine (see docs/demo.md)',
        );
      }
    });
  }

  /** Stops sampling and the progress, reads the last outcomes, removes the tap's group. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.sampler.stop();
    this.ctx.progress?.stop();
    this.ctx.progress = undefined;
    await this.outcomes.finish();
    await this.events.stop();
  }

  /** stop() for a run that failed half-way: every step runs, errors ignored. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ctx.progress?.stop();
    this.ctx.progress = undefined;
    await this.sampler.stop().catch(() => {});
    await this.outcomes.finish().catch(() => {});
    await this.events.stop().catch(() => {});
  }
}

/** Events waiting longer than about half a hold: confirms will start to miss their holds. */
export function fallingBehind(s: Sample, rate: number, holdSeconds: number): boolean {
  return rate ? s.eventBacklog > Math.max(2_000, (rate * holdSeconds) / 2) : false;
}
