/**
 * The reservation gate: typed calls of the decision scripts (reserve, confirm, cancel, extend,
 * expireDue, restock, setLimit). The reserver queues many of them on one pipeline per batch;
 * tests and the benchmark's physical-limit baseline drive the same calls directly.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { runScript } from './lua/index.js';
import { encodeInternalEvent } from './validation/internal-event.js';

export interface GateConfig {
  /** How long an event_id is remembered (dedupe window), seconds. */
  dedupeTtlSeconds: number;
  /** Approximate cap of each checkout:outcomes:{shard} (0 = never trimmed by holdfast). */
  outcomesMaxLen: number;
  holdDefaultSeconds: number;
  holdMinSeconds: number;
  holdMaxSeconds: number;
  /** A hold's whole life, extensions included. */
  holdMaxTotalSeconds: number;
  /** How long a finished hold is kept so late events get a precise reason. */
  finishedHoldTtlSeconds: number;
  /** A cart across shards is rejected (shard_timeout) if its parts have not answered by then. */
  crossShardTimeoutMs?: number;
  /** Approximate cap of each reply stream (contract v2 `reply_to`); default 1000. */
  replyMaxLen?: number;
  /** A reply stream nothing was appended to for this long is deleted; default 600 s. */
  replyTtlSeconds?: number;
}

/** `replyTo`: contract v2 `reply_to` (decidePayloads / decideMany only). */
export type CheckoutCommand =
  | {
      type: 'reserve';
      eventId: string;
      checkoutId: string;
      userId: string;
      lines: Array<[string, number]>;
      holdSeconds?: number | undefined;
      replyTo?: string | undefined;
    }
  | {
      type: 'confirm' | 'cancel';
      eventId: string;
      checkoutId: string;
      replyTo?: string | undefined;
    }
  | {
      type: 'extend';
      eventId: string;
      checkoutId: string;
      holdSeconds?: number | undefined;
      replyTo?: string | undefined;
    };

export type AdminCommand =
  | { type: 'restock'; eventId: string; sku: string; qty: number }
  | { type: 'set_limit'; eventId: string; sku: string; perUser: number };

export type DecisionStatus =
  | 'reserved'
  | 'confirmed'
  | 'cancelled'
  | 'extended'
  | 'rejected'
  | 'duplicate'
  /** A cart across shards waiting for its parts (its outcome comes later). */
  | 'pending'
  /** The steps of a cart across shards (includes/saga.lua): part_held, part_ok, part_sold, … */
  | `part_${string}`;

export interface Decision {
  status: DecisionStatus;
  reason?: string;
  expiresAt?: number;
}

/** A decision of a batch, with the event's type and source entry id echoed by the script. */
export interface BatchDecision extends Decision {
  /** The event's type, or a cross-shard step's (part_reserve, part_result, part_confirm, part_release). */
  type: CheckoutCommand['type'] | `part_${string}`;
  srcId: string;
}

/** The gate of one shard: every call touches that shard's keys only (one hash tag, one slot). */
export class Gate {
  constructor(
    private readonly keys: Keys,
    private readonly cfg: GateConfig,
    readonly shard: string = keys.defaultShard,
  ) {}

  /** The hold-length bounds every decision script takes; the scripts clamp (includes/decide.lua). */
  private holdBounds(): number[] {
    return [this.cfg.holdDefaultSeconds, this.cfg.holdMinSeconds, this.cfg.holdMaxSeconds];
  }

  /** Queues the decision for one checkout command; `now` pins the clock (tests, benchmark). */
  queue(p: ChainableCommander, cmd: CheckoutCommand, now?: number): ChainableCommander {
    const sk = this.keys.shard(this.shard);
    const keys = [
      sk.event(cmd.eventId),
      sk.hold(cmd.checkoutId),
      sk.holdsDue,
      sk.outcomes,
      sk.ledger,
      sk.prefix,
    ];
    const common = [
      now ?? '',
      cmd.eventId,
      cmd.checkoutId,
      this.cfg.dedupeTtlSeconds,
      this.cfg.outcomesMaxLen,
    ];
    switch (cmd.type) {
      case 'reserve':
        return runScript(p, 'reserve', keys, [
          ...common,
          cmd.userId,
          JSON.stringify(cmd.lines),
          cmd.holdSeconds ?? '',
          this.cfg.holdMaxTotalSeconds * 1000,
          ...this.holdBounds(),
        ]);
      case 'confirm':
        return runScript(p, 'confirm', keys, [...common, this.cfg.finishedHoldTtlSeconds]);
      case 'cancel':
        return runScript(p, 'cancel', keys, [...common, this.cfg.finishedHoldTtlSeconds]);
      case 'extend':
        return runScript(p, 'extend', keys, [
          ...common,
          cmd.holdSeconds ?? '',
          ...this.holdBounds(),
        ]);
    }
  }

  /**
   * Decides a batch of `S in` payloads (as ingest wrote them, see validation/internal-event.ts)
   * in one script call (decideMany-5.lua), in order; the same decisions as queue() per
   * command. A slot is an Error when that event's decision raised one — its message starts
   * with "ERR bad_event" when the payload itself is malformed (nothing was written).
   */
  async decidePayloads(
    client: Redis,
    payloads: readonly string[],
    now?: number,
  ): Promise<Array<BatchDecision | Error>> {
    const sk = this.keys.shard(this.shard);
    const res = await runScript<unknown[]>(
      client,
      'decideMany',
      [sk.holdsDue, sk.outcomes, sk.ledger, sk.prefix, sk.repliesPrefix],
      [
        now ?? '',
        this.cfg.dedupeTtlSeconds,
        this.cfg.outcomesMaxLen,
        this.cfg.finishedHoldTtlSeconds,
        this.cfg.holdMaxTotalSeconds * 1000,
        ...this.holdBounds(),
        this.cfg.crossShardTimeoutMs ?? 10_000,
        ...this.replyBounds(),
        ...payloads,
      ],
    );
    return res.map((r) => {
      if (r instanceof Error) return r;
      const [, , , type, srcId] = r as [string, string, string, CheckoutCommand['type'], string];
      return { ...Gate.parse(r), type, srcId };
    });
  }

  /** decidePayloads for typed commands (tests, benchmark); `srcId` stands in for the source entry. */
  decideMany(
    client: Redis,
    cmds: readonly CheckoutCommand[],
    now?: number,
    srcId = '0-1',
  ): Promise<Array<BatchDecision | Error>> {
    return this.decidePayloads(
      client,
      cmds.map((c) => encodeInternalEvent(c, srcId)),
      now,
    );
  }

  /** Runs one command on its own round trip (tests, CLI). */
  async decide(client: Redis, cmd: CheckoutCommand, now?: number): Promise<Decision> {
    const res = await this.queue(client.pipeline(), cmd, now).exec();
    const [err, value] = res![0]!;
    if (err) throw err;
    return Gate.parse(value);
  }

  static parse(value: unknown): Decision {
    const [status, reason, expiresAt] = value as [DecisionStatus, string, string];
    const d: Decision = { status };
    if (reason) d.reason = reason;
    if (expiresAt) d.expiresAt = Number(expiresAt);
    return d;
  }

  /** Releases holds past their deadline; returns how many were expired. */
  expireDue(client: Redis, limit: number, now?: number): Promise<number> {
    const sk = this.keys.shard(this.shard);
    return runScript<number>(
      client,
      'expireDue',
      [sk.holdsDue, sk.outcomes, sk.ledger, sk.prefix, sk.repliesPrefix],
      [
        now ?? '',
        limit,
        this.cfg.outcomesMaxLen,
        this.cfg.finishedHoldTtlSeconds,
        this.cfg.dedupeTtlSeconds,
        ...this.replyBounds(),
      ],
    );
  }

  /** Reply streams' cap and idle ttl, as the scripts take them. */
  private replyBounds(): [number, number] {
    return [this.cfg.replyMaxLen ?? 1_000, this.cfg.replyTtlSeconds ?? 600];
  }

  queueAdmin(p: ChainableCommander, cmd: AdminCommand, now?: number): ChainableCommander {
    const sk = this.keys.shard(this.shard);
    const keys = [sk.adminEvent(cmd.eventId), sk.stock(cmd.sku), sk.skus, sk.ledger];
    const value = cmd.type === 'restock' ? cmd.qty : cmd.perUser;
    const script = cmd.type === 'restock' ? 'restock' : 'setLimit';
    return runScript(p, script, keys, [
      now ?? '',
      cmd.eventId,
      cmd.sku,
      value,
      this.cfg.dedupeTtlSeconds,
    ]);
  }

  /**
   * Arms a SKU Redis does not know from MySQL's books (see seed-4.lua). Returns 'exists' and
   * changes nothing when Redis already has the SKU.
   */
  async seed(
    client: Redis,
    row: { sku: string; total: number; sold: number; held: number; perUser: number },
    now?: number,
  ): Promise<'seeded' | 'exists'> {
    const sk = this.keys.shard(this.shard);
    const [status] = await runScript<string[]>(
      client,
      'seed',
      [sk.stock(row.sku), sk.skus, sk.ledger, sk.seq],
      [now ?? '', row.sku, row.total, row.sold, row.held, row.perUser],
    );
    return status as 'seeded' | 'exists';
  }

  async admin(client: Redis, cmd: AdminCommand, now?: number): Promise<string> {
    const res = await this.queueAdmin(client.pipeline(), cmd, now).exec();
    const [err, value] = res![0]!;
    if (err) throw err;
    return (value as string[])[0]!;
  }
}

export interface StockCounters {
  total: number;
  available: number;
  held: number;
  sold: number;
  perUser: number;
}

/**
 * Reads a SKU's counters (null if the SKU does not exist) from `shard`, by default the SKU's
 * recorded placement (else where the placement function puts it).
 */
export async function readStock(
  client: Redis,
  keys: Keys,
  sku: string,
  shard?: string,
): Promise<StockCounters | null> {
  const at = shard ?? (await client.hget(keys.streams.placement, sku)) ?? keys.defaultShardOf(sku);
  const h = await client.hgetall(keys.shard(at).stock(sku));
  if (!h.total && h.total !== '0') return null;
  return {
    total: Number(h.total),
    available: Number(h.available),
    held: Number(h.held),
    sold: Number(h.sold),
    perUser: Number(h.per_user ?? 0),
  };
}
