/**
 * Types, limits and reject reasons shared by the holdfast input validators.
 *
 * Everything here is pure data: no I/O, no Redis, no clock.
 */
import { z } from 'zod';

/**
 * Why an input entry was rejected. These strings are public: they are written as the `reason`
 * of a `checkout:dead` entry and used as the `reason` label of the dead-letter metric, and every
 * one of them is documented for producers in `docs/input-validation.md` (a test enforces that).
 */
export const REJECT_REASONS = [
  /** A required field is absent (`type`, `event_id`, `checkout_id`, `user_id`, `sku`, `qty`, …). */
  'missing_field',
  /** A field is present but its value has the wrong form (an id, `hold_seconds`, `per_user`, …). */
  'invalid_field',
  /** `type` is not one this stream understands. */
  'unknown_type',
  /** `type` belongs to the other public input stream (admin type on `checkout:events` or vice versa). */
  'wrong_stream',
  /** The same field name appears more than once in one entry. */
  'duplicate_field',
  /** A field name or value is larger than the configured byte limit. */
  'field_too_large',
  /** `lines` is not a JSON array of `{"sku", "qty"}` objects (bad JSON, wrong shape, bad sku, …). */
  'bad_lines',
  /** `lines` has more entries than allowed (default 50). */
  'too_many_lines',
  /** The same SKU appears in more than one line of one reserve. */
  'duplicate_sku',
  /** A quantity is not an integer in its allowed range, or is not written as one. */
  'bad_qty',
  /** A reserve carries both `lines` and the `sku`/`qty` shorthand. */
  'ambiguous_lines',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

const REJECT_REASON_SET: ReadonlySet<string> = new Set(REJECT_REASONS);

/** True when `s` is one of {@link REJECT_REASONS}. */
export function isRejectReason(s: unknown): s is RejectReason {
  return typeof s === 'string' && REJECT_REASON_SET.has(s);
}

/** A rejection: a stable machine reason plus a short (≤ 300 chars) human message. */
export interface Rejection {
  ok: false;
  reason: RejectReason;
  detail: string;
}

export type ValidationResult<T> = { ok: true; value: T } | Rejection;

/** One reserve line, normalised: `[sku, qty]`. */
export type ReserveLine = [sku: string, qty: number];

/**
 * Contract v2 `reply_to`, on any checkout event: the outcome is also appended to the reply stream
 * `checkout:replies:{<shard>}:<reply_to>`. 1–64 characters of `[A-Za-z0-9_-]`.
 */
export interface Replyable {
  replyTo?: string;
}

export const REPLY_TO_RE = /^[A-Za-z0-9_-]{1,64}$/;

export interface ReserveEvent extends Replyable {
  type: 'reserve';
  eventId: string;
  checkoutId: string;
  userId: string;
  lines: ReserveLine[];
  /** As sent by the producer; the reserver clamps it to its configured bounds. */
  holdSeconds?: number;
}

export interface ConfirmCancelEvent extends Replyable {
  type: 'confirm' | 'cancel';
  eventId: string;
  checkoutId: string;
}

export interface ExtendEvent extends Replyable {
  type: 'extend';
  eventId: string;
  checkoutId: string;
  /** As sent by the producer; the reserver clamps it to its configured bounds. */
  holdSeconds?: number;
}

/** A validated, normalised `checkout:events` entry. */
export type CheckoutEvent = ReserveEvent | ConfirmCancelEvent | ExtendEvent;
export type CheckoutEventType = CheckoutEvent['type'];

export interface RestockEvent {
  type: 'restock';
  eventId: string;
  sku: string;
  /** Units added to the SKU's total, 1–{@link MAX_RESTOCK_QTY}. */
  qty: number;
}

export interface SetLimitEvent {
  type: 'set_limit';
  eventId: string;
  sku: string;
  /** Per-user limit for the SKU, 0–{@link MAX_PER_USER}; 0 = no limit. */
  perUser: number;
}

/** Contract v2: places a SKU that does not exist yet on a shard. */
export interface PlaceEvent {
  type: 'place';
  eventId: string;
  sku: string;
  /** A shard name (1–32 of [A-Za-z0-9_-]); whether the deployment has it is the reserver's call. */
  shard: string;
}

/** A validated, normalised `inventory:admin` entry. */
export type AdminEvent = RestockEvent | SetLimitEvent | PlaceEvent;
export type AdminEventType = AdminEvent['type'];

export const CHECKOUT_EVENT_TYPES: readonly CheckoutEventType[] = [
  'reserve',
  'confirm',
  'cancel',
  'extend',
];
export const ADMIN_EVENT_TYPES: readonly AdminEventType[] = ['restock', 'set_limit', 'place'];

/** Ids (`event_id`, `checkout_id`, `user_id`, `sku`) are 1–128 characters. */
export const MAX_ID_LENGTH = 128;
/** Upper bound on the *form* of `hold_seconds`; the reserver clamps to its own configured bounds. */
export const MAX_HOLD_SECONDS = 1_000_000_000;
/** Largest `qty` of one `restock`. */
export const MAX_RESTOCK_QTY = 1_000_000_000;
/** Largest `per_user` of one `set_limit`. */
export const MAX_PER_USER = 1_000_000;
/** Deepest bracket nesting accepted inside `lines` (a valid `lines` needs 2). */
export const MAX_LINES_JSON_DEPTH = 8;

/**
 * Tunable limits. The defaults are the public contract; raising `maxLines` or `maxLineQty`
 * above them is a contract change.
 */
export interface ValidationLimits {
  /** Largest field name or value, in UTF-8 bytes (checked before any parsing). */
  maxValueBytes: number;
  /** Largest `lines` value, in UTF-8 bytes (checked before JSON parsing). */
  maxLinesBytes: number;
  /** Most lines in one reserve. */
  maxLines: number;
  /** Largest qty of one reserve line. */
  maxLineQty: number;
}

export const DEFAULT_VALIDATION_LIMITS: Readonly<ValidationLimits> = Object.freeze({
  maxValueBytes: 65_536,
  maxLinesBytes: 16_384,
  maxLines: 50,
  maxLineQty: 10_000,
});

const positiveInt = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const LimitsSchema = z.object({
  maxValueBytes: positiveInt,
  maxLinesBytes: positiveInt,
  maxLines: positiveInt,
  maxLineQty: positiveInt,
});

const resolvedCache = new WeakMap<object, Readonly<ValidationLimits>>();

/**
 * Fills a partial set of limits with the defaults and checks it (every limit a positive
 * integer). Throws an `Error` naming the bad limit: call it once when loading configuration so
 * a bad value fails at start. Results are cached per input object, so passing the same object
 * on every call costs one WeakMap lookup.
 */
export function resolveValidationLimits(
  limits?: Partial<ValidationLimits>,
): Readonly<ValidationLimits> {
  if (limits === undefined || limits === DEFAULT_VALIDATION_LIMITS)
    return DEFAULT_VALIDATION_LIMITS;
  const cached = resolvedCache.get(limits);
  if (cached !== undefined) return cached;
  const merged = {
    maxValueBytes: limits.maxValueBytes ?? DEFAULT_VALIDATION_LIMITS.maxValueBytes,
    maxLinesBytes: limits.maxLinesBytes ?? DEFAULT_VALIDATION_LIMITS.maxLinesBytes,
    maxLines: limits.maxLines ?? DEFAULT_VALIDATION_LIMITS.maxLines,
    maxLineQty: limits.maxLineQty ?? DEFAULT_VALIDATION_LIMITS.maxLineQty,
  };
  const parsed = LimitsSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') ?? '?';
    throw new Error(
      `invalid validation limit ${where}: ${issue?.message ?? 'invalid'} (got ${String(merged[where as keyof typeof merged])})`,
    );
  }
  const resolved = Object.freeze(parsed.data);
  resolvedCache.set(limits, resolved);
  return resolved;
}
