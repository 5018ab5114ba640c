/**
 * The internal ingest → reserver stream format (`S in`, see docs/architecture.md): one field,
 * `e`, holding the validated event as compact JSON:
 *
 *   {"t":type,"e":event_id,"c":checkout_id,"u":user_id,"l":[["SKU",qty],...],"h":hold_seconds,"s":src_id}
 *
 * `u` and `l` only for reserve, `h` only when the producer asked for a hold length (reserve,
 * extend), `s` the id of the `checkout:events` entry it came from.
 *
 * Why one JSON field instead of one stream field per value: the reserver hands the payload to
 * the gate untouched (decideMany-4.lua decodes it with cjson), so per event it costs one stream
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
}

/**
 * Encodes a validated checkout event as the payload of an `S in` entry. `srcId` is the id of
 * the `checkout:events` entry it came from. Lines keep the producer's order.
 */
export function encodeInternalEvent(ev: CheckoutEvent, srcId: string): string {
  const p: InternalPayload = { t: ev.type, e: ev.eventId, c: ev.checkoutId, s: srcId };
  if (ev.type === 'reserve') {
    p.u = ev.userId;
    p.l = ev.lines.map(([sku, qty]) => [sku, qty]);
  }
  if ((ev.type === 'reserve' || ev.type === 'extend') && ev.holdSeconds !== undefined) {
    p.h = ev.holdSeconds;
  }
  return JSON.stringify(p);
}
