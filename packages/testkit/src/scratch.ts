/**
 * Names and databases a test makes for itself on the run's shared servers (used by the
 * `test.extend` fixtures and by `isolatedEnv`): a random Redis namespace, and a MySQL database
 * of a random name next to the server's URL.
 */
import { createConnection } from 'mysql2/promise';
import { randomId } from './ids.js';

/** A fresh HOLDFAST_NAMESPACE: every key a test's services make starts with it. */
export const testNamespace = (id = randomId()) => `t${id}:`;

/** A fresh database name (made up here, so safe to splice into DDL). */
export const testDatabaseName = (id = randomId()) => `hf_test_${id}`;

/** `url` with its database replaced by `database`. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createDatabase(serverUrl: string, database: string): Promise<void> {
  const c = await createConnection(serverUrl);
  try {
    await c.query(`CREATE DATABASE \`${database}\``);
  } finally {
    await c.end();
  }
}

export async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const c = await createConnection(serverUrl);
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await c.end();
  }
}
