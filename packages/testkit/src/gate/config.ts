/** The fake clock's start and the gate configuration most gate tests use. */
import type { GateConfig } from '@holdfast/shared';

/** A fixed, realistic epoch-ms start for the fake clock. */
export const T0 = 1_700_000_000_000;

/** Config used by most tests: finished holds and event ids are kept far longer than a test. */
export const CFG: GateConfig = Object.freeze({
  dedupeTtlSeconds: 3_600,
  outcomesMaxLen: 0,
  holdDefaultSeconds: 60,
  holdMinSeconds: 10,
  holdMaxSeconds: 120,
  holdMaxTotalSeconds: 300,
  finishedHoldTtlSeconds: 3_600,
});
