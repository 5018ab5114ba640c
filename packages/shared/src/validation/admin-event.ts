/**
 * Validation of `inventory:admin` entries (see docs/input-validation.md).
 */
import { checkId, collectFields, parseDecimal, preview, reject } from './fields.js';
import {
  MAX_PER_USER,
  MAX_RESTOCK_QTY,
  resolveValidationLimits,
  type AdminEvent,
  type ValidationLimits,
  type ValidationResult,
} from './types.js';

const CHECKOUT_TYPES: ReadonlySet<string> = new Set(['reserve', 'confirm', 'cancel', 'extend']);

/**
 * Validates one `inventory:admin` entry (flat field/value array) and normalises it:
 * `restock` needs `qty` (1–1 000 000 000 units added to the SKU's total); `set_limit` needs
 * `per_user` (0–1 000 000; 0 = no limit); `place` (contract v2) needs `shard` (a shard name). Same id, size and duplicate-field rules as
 * `checkout:events`; unknown fields are ignored. Never throws on any `fields`.
 */
export function validateAdminEvent(
  fields: string[],
  limits?: Partial<ValidationLimits>,
): ValidationResult<AdminEvent> {
  const lim = resolveValidationLimits(limits);
  const f = collectFields(fields, lim.maxValueBytes);
  if (!(f instanceof Map)) return f;

  const type = f.get('type');
  if (type === undefined) return reject('missing_field', 'field "type" is missing');
  if (type !== 'restock' && type !== 'set_limit' && type !== 'place') {
    if (CHECKOUT_TYPES.has(type)) {
      return reject(
        'wrong_stream',
        `type "${type}" is a checkout event: send it to checkout:events, not inventory:admin`,
      );
    }
    return reject('unknown_type', `type ${preview(type)} is not one of restock, set_limit, place`);
  }

  const eventId = f.get('event_id');
  if (eventId === undefined) return reject('missing_field', 'field "event_id" is missing');
  const badEvent = checkId('field "event_id"', eventId);
  if (badEvent) return badEvent;

  const sku = f.get('sku');
  if (sku === undefined) return reject('missing_field', 'field "sku" is missing');
  const badSku = checkId('field "sku"', sku);
  if (badSku) return badSku;

  if (type === 'restock') {
    const raw = f.get('qty');
    if (raw === undefined)
      return reject('missing_field', 'field "qty" is missing (required for restock)');
    const qty = parseDecimal(raw, 1, MAX_RESTOCK_QTY);
    if (typeof qty !== 'number') return reject('bad_qty', `field "qty" ${qty}`);
    return { ok: true, value: { type, eventId, sku, qty } };
  }

  if (type === 'place') {
    const shard = f.get('shard');
    if (shard === undefined)
      return reject('missing_field', 'field "shard" is missing (required for place)');
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(shard))
      return reject(
        'invalid_field',
        `field "shard" ${preview(shard)} is not a shard name (1–32 of A-Z a-z 0-9 _ -)`,
      );
    return { ok: true, value: { type, eventId, sku, shard } };
  }

  const raw = f.get('per_user');
  if (raw === undefined)
    return reject('missing_field', 'field "per_user" is missing (required for set_limit)');
  const perUser = parseDecimal(raw, 0, MAX_PER_USER);
  if (typeof perUser !== 'number') return reject('invalid_field', `field "per_user" ${perUser}`);
  return { ok: true, value: { type, eventId, sku, perUser } };
}
