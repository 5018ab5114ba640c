/**
 * vitest `test.extend` fixtures: each test that asks for one gets its own Redis namespace or
 * MySQL database on the run's servers (see ./global-setup.ts), removed after the test. A
 * fixture is set up only when the test destructures it, so a Redis-only test never creates a
 * database.
 *
 *   import { test } from '@holdfast/testkit';
 *   test('restock reaches MySQL', async ({ redis, mysql, env }) => { … });
 *
 * `redis.client` is a connection with holdfast's scripts registered; `env` is the environment to
 * hand to a service started with `startService` (REDIS_URL, MYSQL_URL, HOLDFAST_NAMESPACE).
 */
import { test as base, inject } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedis, deleteNamespace } from '@holdfast/shared';
// Brings the ProvidedContext typing (redisUrl, mysqlUrl) of the global setup into scope.
import type {} from './global-setup.js';
import { createDatabase, dropDatabase } from '@holdfast/shared/mysql';
import { testDatabaseName, testNamespace } from './scratch.js';

export interface RedisNamespace {
  url: string;
  /** HOLDFAST_NAMESPACE for this test: every key it makes starts with it. */
  namespace: string;
  client: Redis;
}

export interface MysqlDatabase {
  /** URL of a database that exists only for this test. */
  url: string;
  database: string;
}

export interface HoldfastFixtures {
  redis: RedisNamespace;
  mysql: MysqlDatabase;
  env: Record<string, string>;
}

export const test = base.extend<HoldfastFixtures>({
  // eslint-disable-next-line no-empty-pattern -- vitest reads fixture dependencies from the pattern
  redis: async ({}, use) => {
    const url = inject('redisUrl');
    const namespace = testNamespace();
    const client = createRedis(url, { name: 'hf-test-fixture' });
    try {
      await use({ url, namespace, client });
    } finally {
      await deleteNamespace(client, namespace);
      client.disconnect();
    }
  },
  // eslint-disable-next-line no-empty-pattern -- as above
  mysql: async ({}, use) => {
    const server = inject('mysqlUrl');
    const database = testDatabaseName();
    const url = await createDatabase(server, database);
    try {
      await use({ url, database });
    } finally {
      await dropDatabase(server, database);
    }
  },
  env: async ({ redis, mysql }, use) => {
    await use({ REDIS_URL: redis.url, MYSQL_URL: mysql.url, HOLDFAST_NAMESPACE: redis.namespace });
  },
});
