/**
 * Per-test isolation on shared servers: a random Redis namespace and a fresh MySQL database.
 * Use inside tests: `const env = await isolatedEnv()` then `await env.cleanup()` in afterAll, or
 * the `test.extend` fixtures of ./fixtures.ts.
 */
import { inject } from 'vitest';
import { Redis } from 'ioredis';
// Brings the ProvidedContext typing (redisUrl, mysqlUrl) of the global setup into scope.
import type {} from './global-setup.js';
import { deleteNamespace } from '@holdfast/shared';
import { randomId } from './ids.js';
import { createDatabase, dropDatabase, withDatabase } from '@holdfast/shared/mysql';
import { testDatabaseName, testNamespace } from './scratch.js';

export interface IsolatedEnv {
  redisUrl: string;
  /** URL of a database that exists only for this test file. */
  mysqlUrl: string;
  /** Redis namespace (HOLDFAST_NAMESPACE) only this test file uses. */
  namespace: string;
  /** Environment to hand to services / child processes. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

export async function isolatedEnv(opts: { mysql?: boolean } = {}): Promise<IsolatedEnv> {
  const redisUrl = inject('redisUrl');
  const baseMysql = inject('mysqlUrl');
  const id = randomId();
  const namespace = testNamespace(id);
  const dbName = testDatabaseName(id);
  const mysqlUrl = withDatabase(baseMysql, dbName);
  if (opts.mysql !== false) await createDatabase(baseMysql, dbName);
  return {
    redisUrl,
    mysqlUrl,
    namespace,
    env: { REDIS_URL: redisUrl, MYSQL_URL: mysqlUrl, HOLDFAST_NAMESPACE: namespace },
    async cleanup() {
      const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
      try {
        await r.connect();
        await deleteNamespace(r, namespace);
      } finally {
        r.disconnect();
      }
      if (opts.mysql !== false) await dropDatabase(baseMysql, dbName);
    },
  };
}
