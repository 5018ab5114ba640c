/**
 * @holdfast/fleet — runs holdfast's services as supervised child processes (./supervisor.ts)
 * and formats what they print (./format.ts); starts a single service process
 * (./service-process.ts) and reads samples of its metrics (./metrics-sample.ts). Used by `holdfast fleet`, the demo, the benchmark
 * and the chaos suite.
 */
export * from './supervisor.js';
export * from './format.js';
export * from './service-process.js';
export * from './metrics-sample.js';
