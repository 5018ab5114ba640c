/**
 * The internal ingest → reserver stream format (`S in`, see docs/architecture.md): one field,
 * `e`, holding the validated event as compact JSON:
 *
 *   {"t":type,"e":event_id,"c":checkout_id,"s":src_id,"u":user_id,"l":[["SKU",qty],...],"h":hold_seconds,
 *    "p":[line shards],"r":reply_to}
 *
 * `r` only when the producer gave `reply_to`, `p` only for a cart across shards, `u` and `l` only for reserve, `h` only when the producer asked for a hold length (reserve,
 * extend), `s` the id of the `checkout:events` entry it came from.
 *
 * Why one JSON field instead of one stream field per value: the reserver hands the payload to
 * the gate untouched (decideMany-5.lua decodes it with cjson), so per event it costs one stream
 * field, one script argument and no parsing in Node — per-argument work in ioredis and per-field
 * work in XADD/XREADGROUP were most of what ingest and the reserver spent per event
 * (docs/benchmarks.md, "Profiled and removed"). The gate checks the payload's shape itself
 * before any write; ingest has validated every value against the contract.
 */
import type { CheckoutEvent } from './types.js';

/** The one field of an `S in` entry. */
export const INTERNAL_EVENT_FIELD = 'e';

/** The JSON object of an `S in` entry (see the file comment). */
export interface InternalPayload {
  t: CheckoutEvent['type'];
  e: string;
  c: string;
  u?: string;
  l?: Array<[string, number]>;
  h?: number;
  s: string;
  /**
   * Contract v2, a cart across shards: the shard of each line of `l` (same order). Only when
   * some line lives elsewhere than the shard deciding the event.
   */
  p?: string[];
  /** Contract v2 `reply_to`: the outcome is also appended to this reply stream of the shard. */
  r?: string;
}

/**
 * Encodes a validated checkout event as the payload of an `S in` entry. `srcId` is the id of
 * the `checkout:events` entry it came from. Lines keep the producer's order.
 */
export function encodeInternalEvent(
  ev: CheckoutEvent,
  srcId: string,
  lineShards?: readonly string[],
): string {
  const p: InternalPayload = { t: ev.type, e: ev.eventId, c: ev.checkoutId, s: srcId };
  if (ev.type === 'reserve') {
    p.u = ev.userId;
    p.l = ev.lines.map(([sku, qty]) => [sku, qty]);
  }
  if ((ev.type === 'reserve' || ev.type === 'extend') && ev.holdSeconds !== undefined) {
    p.h = ev.holdSeconds;
  }
  if (ev.type === 'reserve' && lineShards) p.p = [...lineShards];
  if (ev.replyTo !== undefined) p.r = ev.replyTo;
  return JSON.stringify(p);
}

/**
 * The payload of an `S in` entry in the earlier format — one stream field per value: `type`,
 * `event_id`, `checkout_id`, `user_id`, `lines` (JSON tuples), `hold_seconds`, `src_id` — or
 * undefined when `fields` is not that. Entries ingest wrote before an upgrade are still decided
 * (the gate checks the payload's shape as for any other); drop this once no deployment can
 * have such entries left.
 */
export function fromLegacyFields(fields: readonly string[]): string | undefined {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  const t = f.get('type');
  if (t === undefined || !f.has('event_id') || !f.has('src_id')) return undefined;
  const p: Record<string, unknown> = { t, e: f.get('event_id'), c: f.get('checkout_id') };
  p.s = f.get('src_id');
  if (f.has('user_id')) p.u = f.get('user_id');
  if (f.has('lines')) {
    try {
      p.l = JSON.parse(f.get('lines')!) as unknown;
    } catch {
      return undefined;
    }
  }
  if (f.has('hold_seconds')) p.h = Number(f.get('hold_seconds'));
  return JSON.stringify(p);
}
