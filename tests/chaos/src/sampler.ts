/**
 * Invariants 1 and 2 sampled *during* a run, not only at the end: every `intervalMs` every
 * SKU's counters are read from Redis (one HMGET per SKU, atomic per SKU) and MySQL's stock
 * rows are read too; any violation is recorded with the time it was seen. Read errors (a
 * server stopped on purpose) are counted, not failures.
 */
import type { Redis } from 'ioredis';
import { createPool, type Pool } from 'mysql2/promise';
import { invariantViolations, redisStock } from './checker.js';

export class InvariantSampler {
  samples = 0;
  mysqlSamples = 0;
  readErrors = 0;
  readonly violations: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly pool: Pool | undefined;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    mysqlUrl: string | undefined,
    private readonly intervalMs = 250,
  ) {
    if (mysqlUrl) {
      this.pool = createPool({ uri: mysqlUrl, connectionLimit: 1, connectTimeout: 2000 });
      this.pool.on('connection', () => {});
    }
  }

  start(): this {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sample().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
    return this;
  }

  private async sample(): Promise<void> {
    const at = new Date().toISOString();
    try {
      const v = invariantViolations('redis', await redisStock(this.redis, this.namespace));
      this.samples++;
      for (const x of v) if (this.violations.length < 1000) this.violations.push(`${at} ${x}`);
    } catch {
      this.readErrors++;
    }
    if (!this.pool) return;
    try {
      const [rows] = (await this.pool.query(
        'SELECT sku, total, available, held, sold FROM inventory_stock',
      )) as unknown as [Array<Record<string, unknown>>];
      this.mysqlSamples++;
      const m = new Map(
        rows.map((r) => [
          String(r.sku),
          [Number(r.total), Number(r.available), Number(r.held), Number(r.sold)] as [
            number,
            number,
            number,
            number,
          ],
        ]),
      );
      for (const x of invariantViolations('mysql', m))
        if (this.violations.length < 1000) this.violations.push(`${at} ${x}`);
    } catch {
      this.readErrors++;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.pool?.end().catch(() => {});
  }
}
