/**
 * Releases one shard's holds past their deadline every `intervalMs`. Any number of replicas may sweep at
 * once: expireDue-5.lua removes a hold from holds:due in the same atomic call that releases
 * it, so a hold is never released twice. A hold is thus released within its deadline plus one
 * interval (invariant 5), as long as one reserver runs.
 */
import type { Gate, Logger, Redis, ShardKeys } from '@holdfast/shared';

export interface SweeperOptions {
  intervalMs: number;
  batch: number;
  log: Logger;
  onExpired(n: number): void;
  onActive(n: number): void;
}

export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly gate: Gate,
    private readonly keys: ShardKeys,
    private readonly o: SweeperOptions,
  ) {}

  start(): void {
    // Fixed rate (each tick is due one interval after the previous one *started*), so a slow
    // sweep does not push the next one back: a hold is released within its deadline plus about
    // one interval.
    let due = Date.now();
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sweepOnce()
        .then(() => undefined)
        .catch((err) => this.o.log.warn({ err }, 'expiry sweep failed; next tick retries'))
        .finally(() => {
          if (this.stopped) return;
          due = Math.max(due + this.o.intervalMs, Date.now());
          this.timer = setTimeout(tick, due - Date.now());
        });
    };
    tick();
  }

  /** Expires every due hold, in batches so one call never blocks Redis for long. */
  async sweepOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.gate.expireDue(this.redis, this.o.batch);
      total += n;
      if (n > 0) this.o.onExpired(n);
      if (n < this.o.batch || this.stopped) break;
    }
    this.o.onActive(await this.redis.zcard(this.keys.holdsDue));
    return total;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
