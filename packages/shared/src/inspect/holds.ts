/**
 * Hold look-ups (contract v2: `holdfast holds show` / `holds list`): a hold's state, lines,
 * deadline and shard, and what a user holds — read-only, straight from each shard's keys.
 *
 * A hold lives on the shard that decided its reserve (its first line's). Rather than trust
 * ingest's routing record (written only with several shards, and expiring with the dedupe
 * window), every shard is asked: one HGETALL per shard, each in that shard's slot, so it works
 * on Redis Cluster and finds holds made before a shard was added. A cart across shards also
 * reports each remote part's state.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';

export type HoldState =
  | 'pending'
  | 'active'
  | 'confirmed'
  | 'cancelled'
  | 'expired'
  /** A cart across shards that was refused: it never became a hold (see `reason`). */
  | 'rejected';

export interface HoldPart {
  shard: string;
  lines: Array<[string, number]>;
  /** held | sold | released | refused, or null when the part has not been reserved (yet). */
  state: string | null;
}

export interface HoldView {
  checkoutId: string;
  /** The shard holding the cart (for a cart across shards, its home shard). */
  shard: string;
  state: HoldState;
  userId: string;
  /** Every line of the cart, remote parts' included, in the producer's order. */
  lines: Array<[string, number]>;
  /** Epoch ms. An active hold past it is released by the next sweep. */
  expiresAt: number;
  createdAt: number;
  /** The reserve's event_id. */
  eventId: string;
  /** Why a cart across shards was refused. */
  reason?: string;
  /** A cart across shards: its lines on other shards and their state. */
  parts?: HoldPart[];
}

const num = (v: string | undefined) => (v === undefined ? NaN : Number(v));

function parseLines(json: string | undefined): Array<[string, number]> {
  if (!json) return [];
  const v = JSON.parse(json) as unknown;
  return Array.isArray(v) ? (v as Array<[string, number]>) : []; // cjson writes [] as {}
}

/** The hold of a checkout on one shard, or null. */
async function holdOn(
  redis: Redis,
  keys: Keys,
  shard: string,
  checkoutId: string,
): Promise<HoldView | null> {
  const sk = keys.shard(shard);
  const h = await redis.hgetall(sk.hold(checkoutId));
  if (!h.state) return null;
  const view: HoldView = {
    checkoutId,
    shard,
    state: h.state as HoldState,
    userId: h.user ?? '',
    lines: parseLines(h.cart ?? h.lines),
    expiresAt: num(h.expires_at),
    createdAt: num(h.created_at),
    eventId: h.event_id ?? '',
  };
  if (h.reason) view.reason = h.reason;
  if (h.parts) {
    const parts = JSON.parse(h.parts) as Record<string, Array<[string, number]>>;
    view.parts = await Promise.all(
      Object.entries(parts).map(async ([at, lines]) => ({
        shard: at,
        lines,
        state: keys.hasShard(at)
          ? await redis.hget(keys.shard(at).part(view.eventId), 'state')
          : null,
      })),
    );
  }
  return view;
}

/** A checkout's hold on whichever shard holds it, or null when no shard knows it. */
export async function findHold(
  redis: Redis,
  keys: Keys,
  checkoutId: string,
): Promise<HoldView | null> {
  const found = await Promise.all(keys.allShards.map((s) => holdOn(redis, keys, s, checkoutId)));
  // A checkout id is routed to one shard; should two know it, the newest hold is the one that counts.
  return found.reduce<HoldView | null>(
    (best, h) => (h && (!best || h.createdAt > best.createdAt) ? h : best),
    null,
  );
}

/**
 * A user's holds on every shard, oldest first: active and pending ones, and with `all` also the
 * finished ones still kept (FINISHED_HOLD_TTL_SECONDS).
 */
export async function userHolds(
  redis: Redis,
  keys: Keys,
  userId: string,
  opts: { all?: boolean } = {},
): Promise<HoldView[]> {
  const perShard = await Promise.all(
    keys.allShards.map(async (shard) => {
      const ids = await redis.smembers(keys.shard(shard).userHolds(userId));
      const holds = await Promise.all(ids.map((c) => holdOn(redis, keys, shard, c)));
      return holds.filter(
        (h): h is HoldView =>
          h !== null &&
          h.userId === userId &&
          (opts.all || h.state === 'active' || h.state === 'pending'),
      );
    }),
  );
  return perShard.flat().sort((a, b) => a.createdAt - b.createdAt);
}
