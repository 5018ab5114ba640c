/**
 * The front door: how many events/s one ingest replica takes in from the single
 * `checkout:events` stream (validate, route, dedupe, forward to the shard) — on one shard and on
 * three shards of the local Redis, measured in the same run. A backlog of single-line reserves
 * over 300 SKUs is written first; then ingest starts alone (no reserver: what it forwards waits
 * in the shards' inbound streams) and the time and CPU it takes to drain the backlog are read
 * (CPU from /proc, after the process is up).
 *   pnpm --filter @holdfast/bench exec tsx src/front-door.ts [events]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GROUPS, Keys, Placement, createRedis, deleteNamespace } from '@holdfast/shared';
import { startService, stopAll } from '@holdfast/fleet';
import { groupBacklog, randomId } from './infra.js';
import { cpuSeconds } from './proc.js';

const N = Number(process.argv[2] ?? 100_000);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const r = createRedis(url, { name: 'hf-front-door' });

async function intake(shards: string[]): Promise<{ perSec: number; cpuUs: number }> {
  const ns = `bench${randomId()}:`;
  const keys = new Keys(ns, shards);
  try {
    const placement = new Placement(r, keys);
    for (let k = 0; k < 300; k++) await placement.ensure(`S${k}`);
    // The ingest group must exist before the backlog, or ingest would start at its end ($).
    await r.xgroup('CREATE', keys.streams.events, GROUPS.ingest, '0', 'MKSTREAM');
    for (let i = 0; i < N; i += 1000) {
      const p = r.pipeline();
      for (let j = i; j < Math.min(N, i + 1000); j++) {
        p.xadd(keys.streams.events, '*', 'type', 'reserve', 'event_id', `e${j}`, 'checkout_id', `c${j}`, 'user_id', `u${j % 5000}`, 'sku', `S${j % 300}`, 'qty', '1'); // prettier-ignore
      }
      await p.exec();
    }
    const svc = await startService('ingest', {
      REDIS_URL: url,
      HOLDFAST_NAMESPACE: ns,
      HOLDFAST_SHARDS: shards.join(','),
    });
    try {
      const pid = svc.proc.pid!;
      const cpu0 = cpuSeconds(pid)!;
      const t0 = performance.now();
      while ((await groupBacklog(r, keys.streams.events, GROUPS.ingest)) > 0) await sleep(20);
      const secs = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(pid)! - cpu0;
      const forwarded = (
        await Promise.all(shards.map((s) => r.xlen(keys.shard(s).inbound)))
      ).reduce((a, b) => a + b, 0);
      if (forwarded !== N) throw new Error(`forwarded ${forwarded} of ${N}`);
      return { perSec: Math.round(N / secs), cpuUs: Math.round((cpu * 1e6) / N) };
    } finally {
      await stopAll([svc]);
    }
  } finally {
    await deleteNamespace(r, ns);
  }
}

try {
  const one = await intake(['main']);
  const three = await intake(['a', 'b', 'c']);
  console.log(
    `front door, ${N} events, one ingest replica, one Redis (${new Date().toISOString()}):`,
  );
  console.log(`  1 shard:  ${one.perSec} events/s, ${one.cpuUs} CPU µs/event (ingest)`);
  console.log(`  3 shards: ${three.perSec} events/s, ${three.cpuUs} CPU µs/event (ingest)`);
} finally {
  r.disconnect();
}
