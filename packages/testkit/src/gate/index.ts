/**
 * @holdfast/testkit/gate — the gate harness: every Lua call of the gate checked against the
 * contract's invariants (./harness.ts), the records it reads (./stock.ts, ./stream-entries.ts,
 * ./holds.ts), command builders (./builders.ts) and per-file set-up (./file-env.ts).
 */
export * from './config.js';
export * from './stock.js';
export * from './stream-entries.js';
export * from './builders.js';
export * from './holds.js';
export * from './harness.js';
export * from './file-env.js';
