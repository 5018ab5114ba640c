/**
 * The internal ingest → reserver stream format (`S in`, see docs/architecture.md):
 * `type`, `event_id`, `checkout_id`, `user_id` (reserve), `lines` (reserve; canonical JSON
 * `[["SKU",qty],...]`), `hold_seconds` (optional), `src_id` (the `checkout:events` entry id).
 */
import { checkId, collectFields, parseHoldSeconds, parseLines, preview, reject } from './fields.js';
import { readIds } from './checkout-event.js';
import {
  MAX_HOLD_SECONDS,
  resolveValidationLimits,
  type CheckoutEvent,
  type InternalEvent,
  type ReserveLine,
  type ValidationLimits,
  type ValidationResult,
} from './types.js';

/** A Redis stream entry id: `<ms>-<seq>`. */
const STREAM_ID_RE = /^[0-9]{1,20}-[0-9]{1,20}$/;

/** Canonical JSON of reserve lines: `[["SKU",qty],...]`, compact, in the producer's order. */
export function encodeLines(lines: readonly ReserveLine[]): string {
  return JSON.stringify(lines.map(([sku, qty]) => [sku, qty]));
}

/**
 * Encodes a validated checkout event as the flat field/value array of an `S in` entry.
 * `srcId` is the id of the `checkout:events` entry it came from.
 */
export function encodeInternalEvent(ev: CheckoutEvent, srcId: string): string[] {
  const out = ['type', ev.type, 'event_id', ev.eventId, 'checkout_id', ev.checkoutId];
  if (ev.type === 'reserve') out.push('user_id', ev.userId, 'lines', encodeLines(ev.lines));
  if ((ev.type === 'reserve' || ev.type === 'extend') && ev.holdSeconds !== undefined) {
    out.push('hold_seconds', String(ev.holdSeconds));
  }
  out.push('src_id', srcId);
  return out;
}

/**
 * Decodes an `S in` entry. The stream is written by ingest only, but the entry is re-validated
 * defensively with the same rules: a bad one is rejected with a reason, never thrown.
 * Pass the same `limits` ingest uses.
 */
export function decodeInternalEvent(
  fields: string[],
  limits?: Partial<ValidationLimits>,
): ValidationResult<InternalEvent> {
  const lim = resolveValidationLimits(limits);
  const f = collectFields(fields, lim.maxValueBytes);
  if (!(f instanceof Map)) return f;

  const type = f.get('type');
  if (type === undefined) return reject('missing_field', 'field "type" is missing');
  if (type !== 'reserve' && type !== 'confirm' && type !== 'cancel' && type !== 'extend') {
    if (type === 'restock' || type === 'set_limit') {
      return reject(
        'wrong_stream',
        `type "${type}" is an operator event and does not belong on the internal checkout stream`,
      );
    }
    return reject(
      'unknown_type',
      `type ${preview(type)} is not one of reserve, confirm, cancel, extend`,
    );
  }

  const ids = readIds(f);
  if (!Array.isArray(ids)) return ids;
  const [eventId, checkoutId] = ids;

  const srcId = f.get('src_id');
  if (srcId === undefined) return reject('missing_field', 'field "src_id" is missing');
  if (!STREAM_ID_RE.test(srcId)) {
    return reject(
      'invalid_field',
      `field "src_id" must be a stream entry id like 1700000000000-0; got ${preview(srcId)}`,
    );
  }

  let ev: CheckoutEvent;
  switch (type) {
    case 'confirm':
    case 'cancel':
      ev = { type, eventId, checkoutId };
      break;
    case 'extend': {
      const hold = parseHoldSeconds(f.get('hold_seconds'), MAX_HOLD_SECONDS);
      if (typeof hold === 'object') return hold;
      ev =
        hold === undefined
          ? { type, eventId, checkoutId }
          : { type, eventId, checkoutId, holdSeconds: hold };
      break;
    }
    case 'reserve': {
      const userId = f.get('user_id');
      if (userId === undefined)
        return reject('missing_field', 'field "user_id" is missing (required for reserve)');
      const badUser = checkId('field "user_id"', userId);
      if (badUser) return badUser;
      const raw = f.get('lines');
      if (raw === undefined)
        return reject('missing_field', 'field "lines" is missing (required for reserve)');
      const lines = parseLines(raw, 'tuples', lim);
      if (!Array.isArray(lines)) return lines;
      const hold = parseHoldSeconds(f.get('hold_seconds'), MAX_HOLD_SECONDS);
      if (typeof hold === 'object') return hold;
      ev =
        hold === undefined
          ? { type, eventId, checkoutId, userId, lines }
          : { type, eventId, checkoutId, userId, lines, holdSeconds: hold };
      break;
    }
  }
  return { ok: true, value: { ...ev, srcId } };
}
