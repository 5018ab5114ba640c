/**
 * The `test.extend` fixtures: each test gets its own Redis namespace and MySQL database, and
 * both are gone after the test (the next test of the file checks, on its own connections).
 */
import { describe, expect, inject } from 'vitest';
import { createConnection } from 'mysql2/promise';
import { createRedis } from '@holdfast/shared';
import { test } from '../src/index.js';

describe.sequential('holdfast fixtures', () => {
  let namespace = '';
  let database = '';

  test('a test gets its own namespace and database', async ({ redis, mysql, env }) => {
    namespace = redis.namespace;
    database = mysql.database;
    await redis.client.set(`${namespace}probe`, '1');
    const c = await createConnection(mysql.url);
    try {
      await c.query('CREATE TABLE t (id INT PRIMARY KEY)');
      await c.query('INSERT INTO t VALUES (1)');
    } finally {
      await c.end();
    }
    expect(env).toEqual({
      REDIS_URL: redis.url,
      MYSQL_URL: mysql.url,
      HOLDFAST_NAMESPACE: namespace,
    });
  });

  test('the next test gets new ones, and the last ones are gone', async ({ redis, mysql }) => {
    expect(namespace).not.toBe('');
    expect(redis.namespace).not.toBe(namespace);
    expect(mysql.database).not.toBe(database);
    const r = createRedis(inject('redisUrl'), { name: 'hf-fixture-check' });
    try {
      expect(await r.exists(`${namespace}probe`)).toBe(0);
    } finally {
      r.disconnect();
    }
    const c = await createConnection(inject('mysqlUrl'));
    try {
      const [rows] = await c.query('SHOW DATABASES LIKE ?', [database]);
      expect(rows).toEqual([]);
    } finally {
      await c.end();
    }
  });
});
