/**
 * Read-only views of a deployment's state, straight from Redis and MySQL: every SKU's counters,
 * whole streams, outcomes per event, ledger sums, the books, and how far consumers are behind.
 * The demo and the benchmark check their invariants with these, and so do the tests (through
 * the same functions, so a check means the same thing everywhere).
 */
export * from './streams.js';
export * from './stock.js';
export * from './history.js';
export * from './books.js';
export { toFields } from '../stream-worker.js';
export * from './holds.js';
