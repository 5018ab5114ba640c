import calculateSlot from 'cluster-key-slot';

/**
 * The one place every Redis name is built. See docs/architecture.md for the layout.
 *
 * Public streams carry the contract's names (prefixed by the namespace, empty in production).
 * Internal keys of a shard share the hash tag `{<shard>}`, so that everything one Lua call
 * touches lives in one Redis Cluster slot.
 */
export const GROUPS = {
  ingest: 'ingest',
  reserver: 'reserver',
  ledgerWriter: 'ledger-writer',
  /** The reserver's relay of each shard's outbox (carts across shards). */
  relay: 'relay',
} as const;

export interface PublicStreams {
  events: string;
  dead: string;
  admin: string;
  /** Reconciler's audit trail (one summary entry per run). */
  audit: string;
  /** Public (contract v2): SKU → shard, written once when a SKU is placed or first restocked. */
  placement: string;
  /** Public (contract v2): the deployment's shard names, published by every service at start. */
  shards: string;
}

export function publicStreams(namespace = ''): PublicStreams {
  return {
    events: `${namespace}checkout:events`,
    dead: `${namespace}checkout:dead`,
    admin: `${namespace}inventory:admin`,
    audit: `${namespace}holdfast:audit`,
    placement: `${namespace}holdfast:placement`,
    shards: `${namespace}holdfast:shards`,
  };
}

export class ShardKeys {
  readonly prefix: string;
  constructor(
    readonly namespace: string,
    readonly shard: string,
  ) {
    // The shard is the hash tag: the scripts read it back from the first {…} of a key (and so
    // does Redis Cluster), so neither name may carry braces of its own. env.ts validates both
    // for the services; this guards every other caller.
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(shard))
      throw new Error(`invalid shard name ${JSON.stringify(shard)}`);
    if (/[{}]/.test(namespace))
      throw new Error(`a namespace may not contain { or }: ${JSON.stringify(namespace)}`);
    this.prefix = `${namespace}hf:{${shard}}:`;
  }
  /** ingest → reserver: normalised events. */
  get inbound(): string {
    return `${this.prefix}in`;
  }
  /**
   * Public: the shard's decisions, `checkout:outcomes:{<shard>}` (contract v2). Under the shard's
   * hash tag, so a decision and its outcome are one atomic step in one Cluster slot.
   */
  get outcomes(): string {
    return `${this.namespace}checkout:outcomes:{${this.shard}}`;
  }
  /**
   * Public (contract v2): the prefix of this shard's reply streams; an event carrying
   * `reply_to` gets its outcome also at `checkout:replies:{<shard>}:<reply_to>`, in the same
   * atomic step (same hash tag as the decision).
   */
  get repliesPrefix(): string {
    return `${this.namespace}checkout:replies:{${this.shard}}:`;
  }
  replies(replyTo: string): string {
    return `${this.repliesPrefix}${replyTo}`;
  }
  /**
   * A cart across shards: messages this shard's decisions send to other shards (`to`, `m`),
   * written in the decision's own atomic call; the reserver's relay copies them to the target's
   * inbound stream (includes/saga.lua, apps/reserver/src/relay.ts).
   */
  get outbox(): string {
    return `${this.prefix}out`;
  }
  /** reserver → ledger-writer: one entry per state change. */
  get ledger(): string {
    return `${this.prefix}ledger`;
  }
  get skus(): string {
    return `${this.prefix}skus`;
  }
  get holdsDue(): string {
    return `${this.prefix}holds:due`;
  }
  get seq(): string {
    return `${this.prefix}seq`;
  }
  stock(sku: string): string {
    return `${this.prefix}stock:${sku}`;
  }
  /** Prefix the Lua scripts append a SKU to (they build stock keys for the SKUs of a hold). */
  get stockPrefix(): string {
    return `${this.prefix}stock:`;
  }
  hold(checkoutId: string): string {
    return `${this.prefix}hold:${checkoutId}`;
  }
  usage(userId: string): string {
    return `${this.prefix}usage:${userId}`;
  }
  get usagePrefix(): string {
    return `${this.prefix}usage:`;
  }
  /** A user's holds on this shard (checkout ids; a set that expires after the longest hold). */
  userHolds(userId: string): string {
    return `${this.prefix}uholds:${userId}`;
  }
  /** A remote part of a cart across shards, by its reserve's event_id (includes/saga.lua). */
  part(reserveEventId: string): string {
    return `${this.prefix}part:${reserveEventId}`;
  }
  event(eventId: string): string {
    return `${this.prefix}ev:${eventId}`;
  }
  adminEvent(eventId: string): string {
    return `${this.prefix}adm:${eventId}`;
  }
}

/**
 * The documented placement function (contract v2): a SKU nobody placed goes to the shard at
 * index `CRC16(sku) mod 16384 mod N` of the configured list — the SKU's Redis Cluster key slot,
 * as `CLUSTER KEYSLOT <sku>` prints it, modulo the number of shards. It is consulted once, when
 * the SKU is created; the result is recorded in `holdfast:placement`, so adding a shard to the
 * list later moves nothing.
 */
export function defaultShardOf(sku: string, shards: readonly string[]): string {
  return shards[calculateSlot(sku) % shards.length]!;
}

/** Everything a service needs to name things, built once from config. */
export class Keys {
  readonly streams: PublicStreams;
  /**
   * BullMQ prefix (reconciler schedule); under the namespace so tests stay isolated, and one
   * hash tag so that BullMQ's multi-key scripts work on Redis Cluster.
   */
  readonly bullPrefix: string;
  /** Every shard of the deployment, in configured order (the first is the default). */
  readonly allShards: readonly string[];
  private readonly shards = new Map<string, ShardKeys>();
  constructor(
    readonly namespace: string,
    shards: string | readonly string[] = 'main',
  ) {
    this.streams = publicStreams(namespace);
    this.bullPrefix = `{${namespace}hf:bull}`;
    this.allShards = typeof shards === 'string' ? [shards] : [...shards];
    if (!this.allShards.length) throw new Error('a deployment needs at least one shard');
    for (const s of this.allShards) this.shard(s); // validates every name now
  }
  get defaultShard(): string {
    return this.allShards[0]!;
  }
  shard(name: string = this.defaultShard): ShardKeys {
    let k = this.shards.get(name);
    if (!k) {
      k = new ShardKeys(this.namespace, name);
      this.shards.set(name, k);
    }
    return k;
  }
  /** True when `name` is one of the deployment's shards. */
  hasShard(name: string): boolean {
    return this.allShards.includes(name);
  }
  /** The placement function's choice for a SKU nobody placed (see defaultShardOf). */
  defaultShardOf(sku: string): string {
    return defaultShardOf(sku, this.allShards);
  }
  /** Every shard's outcome stream (a consumer that wants every outcome reads them all). */
  get outcomeStreams(): string[] {
    return this.allShards.map((s) => this.shard(s).outcomes);
  }
  /**
   * Ingest's routing records (one key each, no hash tag: each is read and written on its own).
   * checkout_id → the shard of its hold, so follow-ups find it.
   */
  routeOfCheckout(checkoutId: string): string {
    return `${this.namespace}hf:route:co:${checkoutId}`;
  }
  /** event_id → the shard it was routed to, so an event_id is decided on one shard only. */
  routeOfEvent(eventId: string): string {
    return `${this.namespace}hf:route:ev:${eventId}`;
  }
}
