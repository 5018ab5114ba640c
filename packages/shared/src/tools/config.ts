/**
 * The CLI's configuration: the same environment variables as the services, parsed with the
 * same zod rules (a bad value → ConfigError naming the variable → exit 2).
 */
import { z } from 'zod';
import { commonEnv, mysqlUrl, parseEnv } from '../index.js';

export const cliEnv = z.object({
  REDIS_URL: commonEnv.REDIS_URL,
  MYSQL_URL: mysqlUrl,
  HOLDFAST_NAMESPACE: commonEnv.HOLDFAST_NAMESPACE,
  HOLDFAST_SHARDS: commonEnv.HOLDFAST_SHARDS,
  REDIS_CLUSTER_NODES: commonEnv.REDIS_CLUSTER_NODES,
  DEDUPE_TTL_SECONDS: commonEnv.DEDUPE_TTL_SECONDS,
});
export type CliConfig = z.infer<typeof cliEnv>;

export function loadConfig(source: Record<string, string | undefined> = process.env): CliConfig {
  return parseEnv(cliEnv, source);
}
