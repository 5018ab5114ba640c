/**
 * Validation of untrusted `checkout:events` entries (see docs/input-validation.md).
 */
import {
  checkId,
  collectFields,
  parseDecimal,
  parseHoldSeconds,
  parseLines,
  preview,
  reject,
} from './fields.js';
import {
  MAX_HOLD_SECONDS,
  REPLY_TO_RE,
  resolveValidationLimits,
  type CheckoutEvent,
  type Rejection,
  type ReserveLine,
  type ValidationLimits,
  type ValidationResult,
} from './types.js';

const ADMIN_TYPES: ReadonlySet<string> = new Set(['restock', 'set_limit']);

/**
 * Validates one `checkout:events` entry, given as the flat field/value array ioredis returns
 * for an XREADGROUP entry (`['type', 'reserve', 'event_id', 'e1', …]`), and normalises it.
 *
 * Pure and total: never throws on any `fields` (it throws only if `limits` itself is invalid;
 * check limits at start with `resolveValidationLimits`). Unknown fields are ignored.
 */
export function validateCheckoutEvent(
  fields: string[],
  limits?: Partial<ValidationLimits>,
): ValidationResult<CheckoutEvent> {
  const lim = resolveValidationLimits(limits);
  const f = collectFields(fields, lim.maxValueBytes);
  if (!(f instanceof Map)) return f;

  const type = f.get('type');
  if (type === undefined) return reject('missing_field', 'field "type" is missing');

  if (type !== 'reserve' && type !== 'confirm' && type !== 'cancel' && type !== 'extend') {
    if (ADMIN_TYPES.has(type)) {
      return reject(
        'wrong_stream',
        `type "${type}" is an operator event: send it to inventory:admin, not checkout:events`,
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
  const replyTo = f.get('reply_to');
  if (replyTo !== undefined && !REPLY_TO_RE.test(replyTo)) {
    return reject(
      'invalid_field',
      `field "reply_to" ${preview(replyTo)} must be 1–64 characters of A–Z, a–z, 0–9, _ and -`,
    );
  }
  const ev = validated(f, type, eventId, checkoutId, lim);
  if (ev.ok && replyTo !== undefined) ev.value.replyTo = replyTo;
  return ev;
}

/** The event of one type, its ids checked. */
function validated(
  f: Map<string, string>,
  type: CheckoutEvent['type'],
  eventId: string,
  checkoutId: string,
  lim: Readonly<ValidationLimits>,
): ValidationResult<CheckoutEvent> {
  switch (type) {
    case 'confirm':
    case 'cancel':
      return { ok: true, value: { type, eventId, checkoutId } };
    case 'extend': {
      const hold = parseHoldSeconds(f.get('hold_seconds'), MAX_HOLD_SECONDS);
      if (typeof hold === 'object') return hold;
      return {
        ok: true,
        value:
          hold === undefined
            ? { type, eventId, checkoutId }
            : { type, eventId, checkoutId, holdSeconds: hold },
      };
    }
    case 'reserve': {
      const userId = f.get('user_id');
      if (userId === undefined)
        return reject('missing_field', 'field "user_id" is missing (required for reserve)');
      const badUser = checkId('field "user_id"', userId);
      if (badUser) return badUser;

      const lines = readReserveLines(f, lim);
      if (!Array.isArray(lines)) return lines;

      const hold = parseHoldSeconds(f.get('hold_seconds'), MAX_HOLD_SECONDS);
      if (typeof hold === 'object') return hold;
      return {
        ok: true,
        value:
          hold === undefined
            ? { type, eventId, checkoutId, userId, lines }
            : { type, eventId, checkoutId, userId, lines, holdSeconds: hold },
      };
    }
  }
}

/** Reads and checks `event_id` and `checkout_id`. */
export function readIds(f: Map<string, string>): [eventId: string, checkoutId: string] | Rejection {
  const eventId = f.get('event_id');
  if (eventId === undefined) return reject('missing_field', 'field "event_id" is missing');
  const badEvent = checkId('field "event_id"', eventId);
  if (badEvent) return badEvent;
  const checkoutId = f.get('checkout_id');
  if (checkoutId === undefined) return reject('missing_field', 'field "checkout_id" is missing');
  const badCheckout = checkId('field "checkout_id"', checkoutId);
  if (badCheckout) return badCheckout;
  return [eventId, checkoutId];
}

/** A reserve's lines: `lines` JSON, or the `sku` + `qty` shorthand, never both. */
function readReserveLines(
  f: Map<string, string>,
  lim: Readonly<ValidationLimits>,
): ReserveLine[] | Rejection {
  const raw = f.get('lines');
  const sku = f.get('sku');
  const qty = f.get('qty');
  if (raw !== undefined) {
    if (sku !== undefined || qty !== undefined) {
      const which =
        sku !== undefined && qty !== undefined
          ? '"sku" and "qty"'
          : sku !== undefined
            ? '"sku"'
            : '"qty"';
      return reject(
        'ambiguous_lines',
        `reserve has both "lines" and ${which}: send either lines or the sku/qty shorthand`,
      );
    }
    return parseLines(raw, 'objects', lim);
  }
  if (sku === undefined && qty === undefined) {
    return reject('missing_field', 'reserve needs "lines" or both "sku" and "qty"');
  }
  if (sku === undefined)
    return reject(
      'missing_field',
      'field "sku" is missing (the shorthand needs both "sku" and "qty")',
    );
  if (qty === undefined)
    return reject(
      'missing_field',
      'field "qty" is missing (the shorthand needs both "sku" and "qty")',
    );
  const badSku = checkId('field "sku"', sku);
  if (badSku) return badSku;
  const n = parseDecimal(qty, 1, lim.maxLineQty);
  if (typeof n !== 'number') return reject('bad_qty', `field "qty" ${n}`);
  return [[sku, n]];
}
