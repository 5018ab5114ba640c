/**
 * @holdfast/fleet — runs holdfast's services as supervised child processes (./supervisor.ts)
 * and formats what they print (./format.ts); starts a single service process
 * (./service-process.ts) and reads samples of its metrics (./metrics-sample.ts); starts a local
 * Redis Cluster from redis-server children (./redis-cluster.ts). Used by `holdfast fleet`, the
 * demo, the benchmark and the chaos suite.
 */
export { REPO_ROOT, SERVICES, type ServiceName } from '@holdfast/shared';
export { startFleet } from './supervisor.js';
export type * from './fleet-types.js';
export {
  DEFAULT_METRICS_PORTS,
  FleetConfigError,
  childEnv,
  parseServices,
} from './fleet-config.js';
export { restartDelay } from './backoff.js';
export * from './format.js';
export * from './service-process.js';
export * from './metrics-sample.js';
export * from './redis-cluster.js';
export { waitFor } from './wait-for.js';
