/** Command builders, so tests read like the events they send. */
import type { AdminCommand, CheckoutCommand } from '@holdfast/shared';

/** A small id factory so every test names its events and checkouts distinctly. */
export function ids(prefix: string) {
  let i = 0;
  return () => `${prefix}-${++i}`;
}

// ------------------------------------------------------------------ command builders

export const reserve = (
  eventId: string,
  checkoutId: string,
  userId: string,
  lines: Array<[string, number]>,
  holdSeconds?: number,
): CheckoutCommand => ({ type: 'reserve', eventId, checkoutId, userId, lines, holdSeconds });
export const confirm = (eventId: string, checkoutId: string): CheckoutCommand => ({
  type: 'confirm',
  eventId,
  checkoutId,
});
export const cancel = (eventId: string, checkoutId: string): CheckoutCommand => ({
  type: 'cancel',
  eventId,
  checkoutId,
});
export const extend = (
  eventId: string,
  checkoutId: string,
  holdSeconds?: number,
): CheckoutCommand => ({
  type: 'extend',
  eventId,
  checkoutId,
  holdSeconds,
});
export const restock = (eventId: string, sku: string, qty: number): AdminCommand => ({
  type: 'restock',
  eventId,
  sku,
  qty,
});
export const setLimit = (eventId: string, sku: string, perUser: number): AdminCommand => ({
  type: 'set_limit',
  eventId,
  sku,
  perUser,
});
