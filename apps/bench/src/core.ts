/**
 * Core throughput: one reserver replica against the same Lua gate driven directly with deep
 * pipelining (the physical limit), measured in the same run on the same Redis.
 *   pnpm --filter @holdfast/bench exec tsx src/core.ts [events]
 */
import {
  Gate,
  INTERNAL_EVENT_FIELD,
  Keys,
  createRedis,
  encodeInternalEvent,
  type CheckoutEvent,
} from '@holdfast/shared';
import { defaultGateConfig } from './infra.js';
import { deleteNamespace } from '@holdfast/shared';
import { randomBytes } from 'node:crypto';
import { startService } from '@holdfast/fleet';

const N = Number(process.argv[2] ?? 200_000);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// The reserver's own defaults, as the replica it is compared with runs them (and as C uses).
const gateCfg = defaultGateConfig();

function events(n: number): CheckoutEvent[] {
  // 100 SKUs with plenty of stock: mostly successful single-line reserves.
  return Array.from({ length: n }, (_, i) => ({
    type: 'reserve',
    eventId: `e${i}`,
    checkoutId: `c${i}`,
    userId: `u${i}`,
    lines: [[`S${i % 100}`, 1]],
  }));
}

async function arm(gate: Gate, r: ReturnType<typeof createRedis>) {
  for (let s = 0; s < 100; s++)
    await gate.admin(r, { type: 'restock', eventId: `a${s}`, sku: `S${s}`, qty: 1_000_000 });
}

async function direct(): Promise<number> {
  const ns = `bench${randomBytes(4).toString('hex')}:`;
  const keys = new Keys(ns, 'main');
  const r = createRedis(url, { name: 'bench-direct' });
  const gate = new Gate(keys, gateCfg);
  await arm(gate, r);
  const evs = events(N);
  const t0 = performance.now();
  const depth = 8; // pipelines in flight
  const size = 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (next < evs.length) {
        const chunk = evs.slice(next, next + size);
        next += size;
        const p = r.pipeline();
        for (const e of chunk) gate.queue(p, e);
        await p.exec();
      }
    }),
  );
  const rate = N / ((performance.now() - t0) / 1000);
  await deleteNamespace(r, ns);
  r.disconnect();
  return rate;
}

async function viaReserver(): Promise<number> {
  const ns = `bench${randomBytes(4).toString('hex')}:`;
  const keys = new Keys(ns, 'main');
  const r = createRedis(url, { name: 'bench-reserver' });
  const gate = new Gate(keys, gateCfg);
  await arm(gate, r);
  const evs = events(N);
  // Pre-fill the reserver's inbound stream, then time one replica draining it.
  for (let i = 0; i < evs.length; i += 1000) {
    const p = r.pipeline();
    evs
      .slice(i, i + 1000)
      .forEach((e) =>
        p.xadd(
          keys.shard().inbound,
          '*',
          INTERNAL_EVENT_FIELD,
          encodeInternalEvent(e, `${Date.now()}-0`),
        ),
      );
    await p.exec();
  }
  const t0 = performance.now();
  const svc = await startService('reserver', {
    REDIS_URL: url,
    HOLDFAST_NAMESPACE: ns,
    OUTCOMES_MAXLEN: '0',
    BATCH_SIZE: process.env.BATCH_SIZE ?? '500',
  });
  const startedAt = performance.now();
  for (;;) {
    const len = await r.xlen(keys.streams.outcomes);
    if (len >= N) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  const rate = N / ((performance.now() - startedAt) / 1000);
  void t0;
  await svc.kill('SIGTERM');
  await deleteNamespace(r, ns);
  r.disconnect();
  return rate;
}

async function directBatched(): Promise<number> {
  const ns = `bench${randomBytes(4).toString('hex')}:`;
  const keys = new Keys(ns, 'main');
  const r = createRedis(url, { name: 'bench-direct-batched' });
  const gate = new Gate(keys, gateCfg);
  await arm(gate, r);
  const evs = events(N);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < evs.length) {
        const chunk = evs.slice(next, next + 500);
        next += 500;
        await gate.decideMany(r, chunk);
      }
    }),
  );
  const rate = N / ((performance.now() - t0) / 1000);
  await deleteNamespace(r, ns);
  r.disconnect();
  return rate;
}

const d = await direct();
const db = await directBatched();
const s = await viaReserver();
console.log(
  JSON.stringify({
    directBatchedPerSec: Math.round(db),
    events: N,
    directLuaPerSec: Math.round(d),
    oneReserverPerSec: Math.round(s),
    ratio: +(s / d).toFixed(2),
  }),
);
