/**
 * Ledger-writer throughput: pre-fill the ledger stream with N state changes (2 SKUs each, by
 * the gate directly), start one ledger-writer with pacing off, and time the drain into MySQL.
 * Prints rows/s, the writer's peak RSS (VmHWM) and its V8 heap spaces at their largest.
 *   pnpm --filter @holdfast/bench exec tsx src/ledger-rate.ts [changes] [batch size] [skus]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Gate, Keys, createRedis, deleteNamespace } from '@holdfast/shared';
import { createMysqlPool, migrate } from '@holdfast/shared/mysql';
import { sampleOf, startService } from '@holdfast/fleet';
import { backlog } from '@holdfast/shared/inspect';
import { dropDatabase, withDatabase } from '@holdfast/shared/mysql';
import { defaultGateConfig, randomId } from './infra.js';
import { memoryMb } from './proc.js';

const N = Number(process.argv[2] ?? 50_000);
/** SKUs the changes spread over (each change touches 2). */
const SKUS = Number(process.argv[4] ?? 200);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const mysqlServerUrl = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';
const db = `hf_ledger_rate_${randomId()}`;
const mysqlUrl = withDatabase(mysqlServerUrl, db);
const ns = `lrate${randomId()}:`;
const keys = new Keys(ns, 'main');
const r = createRedis(redisUrl, { name: 'ledger-rate' });
const gate = new Gate(keys, defaultGateConfig());
await migrate(mysqlUrl);
for (let s = 0; s < SKUS; s++)
  await gate.admin(r, { type: 'restock', eventId: `a${s}`, sku: `S${s}`, qty: 1_000_000 });
for (let i = 0; i < N; i += 1000) {
  const cmds = Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({
    type: 'reserve' as const,
    eventId: `e${i + k}`,
    checkoutId: `c${i + k}`,
    userId: `u${i + k}`,
    lines: [
      [`S${(i + k) % SKUS}`, 1],
      [`S${(i + k + 77) % SKUS}`, 1],
    ] as Array<[string, number]>,
  }));
  await gate.decideMany(r, cmds);
}
const rows = N * 2 + SKUS;
const w = await startService('ledger-writer', {
  REDIS_URL: redisUrl,
  MYSQL_URL: mysqlUrl,
  HOLDFAST_NAMESPACE: ns,
  LEDGER_MAX_ROWS_PER_SECOND: '0',
  ...(process.argv[3] ? { BATCH_SIZE: process.argv[3] } : {}),
});
// Timed from the writer's "started" (after its migrations; it is consuming from then on).
const t0 = Date.now();
const peak: Record<string, number> = {};
// V8's heap spaces as prom-client labels them.
const SPACES = [
  'read_only',
  'new',
  'old',
  'code',
  'shared',
  'new_large_object',
  'large_object',
  'code_large_object',
  'shared_large_object',
];
const mb = (v: number | undefined) => (v === undefined ? undefined : Math.round(v / 1048576));
const sampler = setInterval(() => {
  void fetch(`http://127.0.0.1:${w.port}/metrics`)
    .then((r) => r.text())
    .then((t) => {
      const sizes: Array<[string, number | undefined]> = SPACES.map((space) => [
        space,
        mb(sampleOf(t, 'holdfast_nodejs_heap_space_size_total_bytes', { space })),
      ]);
      sizes.push(['rss', mb(sampleOf(t, 'holdfast_process_resident_memory_bytes'))]);
      for (const [k, v] of sizes) if (v !== undefined) peak[k] = Math.max(peak[k] ?? 0, v);
    })
    .catch(() => {});
}, 50);
while (
  (await backlog(r, keys.shard().ledger)) > 0 ||
  ((await r.xinfo('GROUPS', keys.shard().ledger)) as unknown[]).length === 0
) {
  await sleep(20);
}
const ms = Date.now() - t0;
clearInterval(sampler);
const hwmMb = memoryMb(w.proc.pid!)?.hwm;
await w.kill('SIGTERM');
const pool = createMysqlPool(mysqlUrl);
const [[c]] = (await pool.query('SELECT COUNT(*) n FROM inventory_ledger')) as unknown as [
  [{ n: number }],
];
await pool.end();
await dropDatabase(mysqlServerUrl, db);
await deleteNamespace(r, ns);
r.disconnect();
console.log(
  JSON.stringify({
    changes: N + SKUS,
    skus: SKUS,
    rows,
    rowsInMysql: Number(c.n),
    drainMs: ms,
    rowsPerSec: Math.round(rows / (ms / 1000)),
    batchSize: process.argv[3] ? Number(process.argv[3]) : 'default',
    peakRssMb: hwmMb === undefined || Number.isNaN(hwmMb) ? null : Math.round(hwmMb * 10) / 10,
    // V8's heap spaces at their largest while draining (the writer's own /metrics, every 50 ms):
    // what the RSS peak is made of.
    peakHeapSpacesMb: peak,
  }),
);
