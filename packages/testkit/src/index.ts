/**
 * @holdfast/testkit — what holdfast's tests share, never imported by production code:
 * per-test isolation on the run's servers (fixtures, isolated environments), starting the
 * compiled services as real processes, polling with deadlines, reading Prometheus samples, and
 * and running the repository's binaries. The gate harness is `@holdfast/testkit/gate`.
 *
 * Global setup and vitest configuration are separate entry points
 * (`@holdfast/testkit/global-setup`, `@holdfast/testkit/vitest-config`).
 */
export {
  test,
  type HoldfastFixtures,
  type MysqlDatabase,
  type RedisNamespace,
} from './fixtures.js';
export { isolatedEnv, type IsolatedEnv } from './isolated-env.js';
export { randomId } from './ids.js';
export { waitFor } from './wait-for.js';
// The local Redis Cluster starter is production code of @holdfast/fleet (`holdfast demo
// --cluster` and the benchmark's shard comparison start one too).
export {
  shardsOnDistinctPrimaries,
  startRedisCluster,
  stopRedisClusters,
  type RedisCluster,
  type RedisClusterNode,
  type StartRedisClusterOptions,
} from '@holdfast/fleet';
// Service processes are production code of @holdfast/fleet (the benchmark starts them too).
export {
  REPO_ROOT,
  killLeftovers,
  sampleOf,
  scrapeMetric,
  startService,
  stopAll,
  type RunningService,
  type ServiceName,
} from '@holdfast/fleet';
export {
  DEMO_BIN,
  HOLDFAST_BIN,
  collectLines,
  commandEnv,
  commandLine,
  json,
  runCommand,
  spawnCommand,
  type CommandResult,
} from './command-line.js';
