/**
 * Input validation for holdfast: pure functions (no I/O) that turn untrusted stream entries
 * into normalised events or a rejection with a documented reason (docs/input-validation.md).
 */
export { validateCheckoutEvent } from './checkout-event.js';
export { validateAdminEvent } from './admin-event.js';
export { INTERNAL_EVENT_FIELD, encodeInternalEvent, fromLegacyFields } from './internal-event.js';
export type { InternalPayload } from './internal-event.js';
export { isValidId } from './fields.js';
export {
  ADMIN_EVENT_TYPES,
  CHECKOUT_EVENT_TYPES,
  DEFAULT_VALIDATION_LIMITS,
  MAX_HOLD_SECONDS,
  MAX_ID_LENGTH,
  MAX_LINES_JSON_DEPTH,
  MAX_PER_USER,
  MAX_RESTOCK_QTY,
  REJECT_REASONS,
  REPLY_TO_RE,
  isRejectReason,
  resolveValidationLimits,
} from './types.js';
export type {
  AdminEvent,
  AdminEventType,
  CheckoutEvent,
  CheckoutEventType,
  ConfirmCancelEvent,
  ExtendEvent,
  Rejection,
  RejectReason,
  ReserveEvent,
  ReserveLine,
  RestockEvent,
  SetLimitEvent,
  ValidationLimits,
  ValidationResult,
} from './types.js';
