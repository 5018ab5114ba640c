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
} as const;

export interface PublicStreams {
  events: string;
  dead: string;
  admin: string;
  /** Reconciler's audit trail (one summary entry per run). */
  audit: string;
}

export function publicStreams(namespace = ''): PublicStreams {
  return {
    events: `${namespace}checkout:events`,
    dead: `${namespace}checkout:dead`,
    admin: `${namespace}inventory:admin`,
    audit: `${namespace}holdfast:audit`,
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
  event(eventId: string): string {
    return `${this.prefix}ev:${eventId}`;
  }
  adminEvent(eventId: string): string {
    return `${this.prefix}adm:${eventId}`;
  }
}

/** Everything a service needs to name things, built once from config. */
export class Keys {
  readonly streams: PublicStreams;
  /** BullMQ prefix (reconciler schedule); under the namespace so tests stay isolated. */
  readonly bullPrefix: string;
  private readonly shards = new Map<string, ShardKeys>();
  constructor(
    readonly namespace: string,
    readonly defaultShard: string,
  ) {
    this.streams = publicStreams(namespace);
    this.bullPrefix = `${namespace}hf:bull`;
  }
  shard(name: string = this.defaultShard): ShardKeys {
    let k = this.shards.get(name);
    if (!k) {
      k = new ShardKeys(this.namespace, name);
      this.shards.set(name, k);
    }
    return k;
  }
  /** Today one shard holds every SKU; on Cluster this becomes a configured SKU → shard map. */
  shardOfSku(_sku: string): string {
    return this.defaultShard;
  }
  /** Shards this deployment runs. */
  get allShards(): string[] {
    return [this.defaultShard];
  }
  /** Every shard's outcome stream (a consumer that wants every outcome reads them all). */
  get outcomeStreams(): string[] {
    return this.allShards.map((s) => this.shard(s).outcomes);
  }
}
