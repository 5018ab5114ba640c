/**
 * Which shard decides an event (contract v2, "Shards"): a reserve goes to the shard of its first
 * line's SKU, a follow-up (confirm, cancel, extend) to the shard of its hold.
 *
 * Two routing records make the choice stick, each one key written with SET NX GET (Redis ≥ 7),
 * so every ingest replica, every redelivery and every retry agrees:
 *  - checkout_id → shard: written by the checkout's first reserve; a follow-up reads it, and a
 *    second reserve of the same checkout goes where the first went (and is answered
 *    `hold_exists` there if the hold is still on). A follow-up of a checkout with no record has
 *    no hold anywhere: it goes to the first shard, which answers `unknown_hold`.
 *  - event_id → shard: the first routing of an event_id wins, so the same event_id is decided on
 *    one shard only — its dedupe there is then exactly once for the deployment, even if a
 *    producer reused the id for another checkout.
 * Both expire after DEDUPE_TTL_SECONDS, the window in which a duplicate has no effect.
 *
 * With one shard there is nothing to choose: no records are written.
 */
import type { CheckoutEvent, Keys, Placement, Redis } from '@holdfast/shared';

export interface Route {
  /** The shard that decides the event. */
  shard: string;
  /** For a reserve whose lines live on several shards: each line's shard (the cart spans shards). */
  lineShards?: string[];
}

export class Router {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly placement: Placement,
    private readonly ttlSeconds: number,
  ) {}

  /** Routes a batch, in order (a reserve's record is written before a later follow-up reads it). */
  async route(events: readonly CheckoutEvent[]): Promise<Route[]> {
    if (this.keys.allShards.length === 1) {
      return events.map(() => ({ shard: this.keys.defaultShard }));
    }
    const skus = new Set<string>();
    for (const ev of events) if (ev.type === 'reserve') for (const [sku] of ev.lines) skus.add(sku);
    const placed = await this.placement.shardsOf(skus);

    // 1. checkout → shard, all commands sent at once (ioredis writes them in order; on a Cluster
    //    commands for one key go to one node, in order).
    const ttl = String(this.ttlSeconds);
    const byCheckout = await Promise.all(
      events.map((ev) => {
        const key = this.keys.routeOfCheckout(ev.checkoutId);
        if (ev.type !== 'reserve') return this.redis.get(key);
        const home = placed.get(ev.lines[0]![0])!;
        return this.redis.call('SET', key, home, 'NX', 'GET', 'EX', ttl) as Promise<string | null>;
      }),
    );
    const wanted = events.map((ev, i) => {
      const recorded = byCheckout[i];
      if (recorded && this.keys.hasShard(recorded)) return recorded;
      return ev.type === 'reserve' ? placed.get(ev.lines[0]![0])! : this.keys.defaultShard;
    });
    // 2. event_id → shard: the first routing of an event_id wins.
    const byEvent = await Promise.all(
      events.map(
        (ev, i) =>
          this.redis.call(
            'SET',
            this.keys.routeOfEvent(ev.eventId),
            wanted[i]!,
            'NX',
            'GET',
            'EX',
            ttl,
          ) as Promise<string | null>,
      ),
    );
    return events.map((ev, i) => {
      const prior = byEvent[i];
      const shard = prior && this.keys.hasShard(prior) ? prior : wanted[i]!;
      if (ev.type !== 'reserve') return { shard };
      const lineShards = ev.lines.map(([sku]) => placed.get(sku)!);
      return lineShards.some((s) => s !== shard) ? { shard, lineShards } : { shard };
    });
  }
}
