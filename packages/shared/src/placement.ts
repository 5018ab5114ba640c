/**
 * SKU → shard (contract v2, "Shards"). Every SKU belongs to one shard, fixed when it is created:
 * the shard an operator placed it on beforehand (admin `place`), or else the documented function
 * of the SKU (keys.ts, defaultShardOf). The answer is recorded in the public hash
 * `holdfast:placement` the first time it matters (HSETNX: the first writer wins, every later
 * reader agrees), so a SKU never moves, also not when the shard list grows.
 *
 * Readers cache placed SKUs forever (a placement never changes); a SKU with no placement yet is
 * not cached, so an operator's later `place` or restock is seen at once.
 */
import type { Keys } from './keys.js';
import type { Redis } from './redis.js';

/** Placed SKUs remembered per process (a SKU's placement never changes, so this is only memory). */
const CACHE_LIMIT = 200_000;

export class Placement {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  private remember(sku: string, shard: string): void {
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(sku, shard);
  }

  /**
   * The shard of each SKU: its recorded placement, or, for a SKU not created yet, where it would
   * be created (the function) — where a reserve of it is rejected `unknown_sku`. One HMGET for
   * every SKU not cached.
   */
  async shardsOf(skus: Iterable<string>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const ask = new Set<string>();
    for (const sku of skus) {
      const c = this.cache.get(sku);
      if (c !== undefined) out.set(sku, c);
      else ask.add(sku);
    }
    if (ask.size) {
      const got = await this.redis.hmget(this.keys.streams.placement, ...ask);
      [...ask].forEach((sku, i) => {
        const placed = got[i];
        if (placed) {
          this.remember(sku, placed);
          out.set(sku, placed);
        } else {
          out.set(sku, this.keys.defaultShardOf(sku));
        }
      });
    }
    return out;
  }

  async shardOf(sku: string): Promise<string> {
    return (await this.shardsOf([sku])).get(sku)!;
  }

  /** The recorded placement of a SKU, or undefined when it has none yet. */
  async placed(sku: string): Promise<string | undefined> {
    const c = this.cache.get(sku);
    if (c !== undefined) return c;
    const placed = (await this.redis.hget(this.keys.streams.placement, sku)) ?? undefined;
    if (placed) this.remember(sku, placed);
    return placed;
  }

  /**
   * Records a SKU's shard unless it has one: `shard` if given (admin `place`), else the
   * function's. Returns the recorded shard and whether this call recorded it.
   */
  async ensure(sku: string, shard?: string): Promise<{ shard: string; created: boolean }> {
    const want = shard ?? this.keys.defaultShardOf(sku);
    const created = (await this.redis.hsetnx(this.keys.streams.placement, sku, want)) === 1;
    const recorded = created
      ? want
      : ((await this.redis.hget(this.keys.streams.placement, sku)) ?? want);
    this.remember(sku, recorded);
    return { shard: recorded, created };
  }

  /**
   * Publishes the deployment's shards (`holdfast:shards`) and records the placement of SKUs that
   * exist on a shard without one (created before placement existed, on a version-1 fleet), so
   * that growing the shard list later never re-routes them.
   */
  async publish(served: readonly string[]): Promise<void> {
    await this.redis.sadd(this.keys.streams.shards, ...this.keys.allShards);
    for (const shard of served) {
      let cursor = '0';
      do {
        const [next, skus] = await this.redis.sscan(
          this.keys.shard(shard).skus,
          cursor,
          'COUNT',
          1000,
        );
        cursor = next;
        if (!skus.length) continue;
        const p = this.redis.pipeline(); // one key: one slot, fine on a Cluster too
        for (const sku of skus) p.hsetnx(this.keys.streams.placement, sku, shard);
        await p.exec();
      } while (cursor !== '0');
    }
  }
}
