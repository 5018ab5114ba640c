/**
 * Per-test isolation on shared servers: a random Redis namespace and a fresh MySQL database.
 * Use inside tests: `const env = await isolatedEnv()` then `await env.cleanup()` in afterAll.
 */
import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { Redis } from 'ioredis';
// Brings the ProvidedContext typing (redisUrl, mysqlUrl) of the global setup into scope.
import type {} from './global-setup.js';

export function randomId(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

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

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function isolatedEnv(opts: { mysql?: boolean } = {}): Promise<IsolatedEnv> {
  const redisUrl = inject('redisUrl');
  const baseMysql = inject('mysqlUrl');
  const id = randomId();
  const namespace = `t${id}:`;
  const dbName = `hf_test_${id}`;
  const mysqlUrl = withDatabase(baseMysql, dbName);
  if (opts.mysql !== false) {
    const conn = await createConnection(baseMysql);
    await conn.query(`CREATE DATABASE \`${dbName}\``);
    await conn.end();
  }
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
      if (opts.mysql !== false) {
        const conn = await createConnection(baseMysql);
        await conn.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
        await conn.end();
      }
    },
  };
}

/** Deletes every key of a namespace (SCAN, never KEYS: the server is shared). */
export async function deleteNamespace(r: Redis, namespace: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await r.unlink(...keys);
  } while (cursor !== '0');
}

/**
 * Polls `probe` until it returns a truthy value or the deadline passes (no sleeping for luck).
 * `what` names the condition in the timeout error; a function is asked only then (so it can
 * describe the state at the deadline).
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const what = typeof opts.what === 'function' ? opts.what() : (opts.what ?? 'condition');
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}
