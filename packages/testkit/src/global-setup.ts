/**
 * Vitest globalSetup shared by every package: hands each test run a Redis and a MySQL URL.
 *
 * Order of preference, so the same suite runs on a laptop with Docker, in CI, and on a box
 * with local servers only:
 *   1. REDIS_URL / MYSQL_URL from the environment, when set;
 *   2. throwaway containers (testcontainers) when a Docker engine answers;
 *   3. the local defaults (127.0.0.1:6379, root@127.0.0.1:3306).
 * Tests never share state through these servers: each one makes its own Redis namespace and
 * its own MySQL database (see ./fixtures.ts).
 */
import type { TestProject } from 'vitest/node';
import { existsSync } from 'node:fs';

const REDIS_IMAGE = 'redis:7.4-alpine';
const MYSQL_IMAGE = 'mysql:8.4';

function dockerAvailable(): boolean {
  if (process.env.DOCKER_HOST) return true;
  return existsSync('/var/run/docker.sock');
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<unknown>> = [];
  let redisUrl = process.env.REDIS_URL;
  let mysqlUrl = process.env.MYSQL_URL;
  const wantContainers = (!redisUrl || !mysqlUrl) && dockerAvailable();
  if (wantContainers) {
    try {
      if (!redisUrl) {
        const { RedisContainer } = await import('@testcontainers/redis');
        const c = await new RedisContainer(REDIS_IMAGE).start();
        stops.push(() => c.stop());
        redisUrl = c.getConnectionUrl();
      }
      if (!mysqlUrl) {
        const { MySqlContainer } = await import('@testcontainers/mysql');
        const c = await new MySqlContainer(MYSQL_IMAGE).withRootPassword('test').start();
        stops.push(() => c.stop());
        mysqlUrl = `mysql://root:test@${c.getHost()}:${c.getPort()}/mysql`;
      }
    } catch (err) {
      // A docker socket that does not answer is common (a client with no engine): fall back.
      console.warn(`testcontainers unavailable, using local servers: ${(err as Error).message}`);
    }
  }
  project.provide('redisUrl', redisUrl ?? 'redis://127.0.0.1:6379');
  project.provide('mysqlUrl', mysqlUrl ?? 'mysql://root@127.0.0.1:3306/mysql');
  return async () => {
    await Promise.allSettled(stops.map((s) => s()));
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    mysqlUrl: string;
  }
}
