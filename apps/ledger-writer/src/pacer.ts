import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket on rows per second: a batch of n rows waits until n tokens are there.
 * One second of burst, so a full batch is never starved when the rate is below its size.
 */
export class Pacer {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  /** Resolves when `n` rows may be written. 0 = unlimited. */
  async take(n: number): Promise<void> {
    if (this.perSecond <= 0) return;
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(
        this.perSecond,
        this.tokens + ((now - this.last) / 1000) * this.perSecond,
      );
      this.last = now;
      // A batch larger than the bucket may go once the bucket is full (else it never would).
      if (this.tokens >= Math.min(n, this.perSecond)) {
        this.tokens -= n;
        return;
      }
      const need = Math.min(n, this.perSecond) - this.tokens;
      await sleep(Math.ceil((need / this.perSecond) * 1000));
    }
  }
}
