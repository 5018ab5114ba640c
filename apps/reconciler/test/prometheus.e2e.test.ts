/**
 * A real Prometheus (Debian's) scrapes a reconciler on localhost; the variance gauge is read
 * back through Prometheus's HTTP API.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keys, createRedis, type Redis } from '@holdfast/shared';
import { migrate } from '@holdfast/shared/mysql';
import { isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';
import { startService, stopAll, type RunningService } from '@holdfast/testkit';
import { drained, xaddMany } from '@holdfast/shared/inspect';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let env: IsolatedEnv;
let redis: Redis;
let keys: Keys;
let services: RunningService[] = [];
let prom: ChildProcess | undefined;
let dir: string;

beforeAll(async () => {
  env = await isolatedEnv();
  keys = new Keys(env.namespace, 'main');
  redis = createRedis(env.redisUrl, { name: 'test' });
  await migrate(env.mysqlUrl);
  dir = mkdtempSync(join(tmpdir(), 'hf-prom-'));
});

afterAll(async () => {
  prom?.kill('SIGTERM');
  await stopAll(services);
  redis?.disconnect();
  await env?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

it('Prometheus scrapes the variance gauge from a reconciler', async () => {
  // CI installs Debian's prometheus package (scripts/validate-ops.sh); without it this fails.
  expect(existsSync(PROMETHEUS), `${PROMETHEUS} missing: apt-get install prometheus`).toBe(true);
  services = await Promise.all([
    startService('reserver', { ...env.env, BLOCK_MS: '200' }),
    startService('ledger-writer', { ...env.env, BLOCK_MS: '200' }),
    startService('reconciler', { ...env.env, RECONCILE_INTERVAL_MS: '1000' }),
  ]);
  const reconciler = services[2]!;
  await xaddMany(redis, keys.streams.admin, [
    { type: 'restock', event_id: 'a1', sku: 'S0', qty: '50' },
  ]);
  await waitFor(
    async () => (await redis.scard(keys.shard().skus)) === 1 && (await drained(redis, keys)),
  );
  await redis.hincrby(keys.shard().stock('S0'), 'available', 4); // drift behind the ledger's back

  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: reconciler',
      `    static_configs: [{ targets: ['127.0.0.1:${reconciler.port}'] }]`,
    ].join('\n'),
  );
  prom = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );

  const value = await waitFor(
    async () => {
      const q = encodeURIComponent('holdfast_inventory_variance_units{sku="S0"}');
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${q}`);
      const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
      const v = body.data.result[0]?.value[1];
      return v === '4' ? v : undefined;
    },
    { timeoutMs: 30_000, what: 'variance 4 in Prometheus' },
  );
  expect(value).toBe('4');
  const up = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`)).json()) as {
    data: { result: Array<{ value: [number, string] }> };
  };
  expect(up.data.result[0]!.value[1]).toBe('1');
});
