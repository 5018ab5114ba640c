/**
 * `holdfast bench`: a thin forwarder to the benchmark in apps/bench (see docs/benchmarks.md).
 * Returns the exit code: 0 ok, 1 FAILED (an oversell, a variance ≠ 0 or a failed run), 2 usage.
 */
export { run } from '../../../bench/src/index.js';
