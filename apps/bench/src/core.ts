/**
 * Core throughput: one reserver replica against the same Lua gate driven directly with deep
 * pipelining (the physical limit), measured in the same run on the same Redis.
 *   pnpm --filter @holdfast/bench exec tsx src/core.ts [events]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Gate,
  INTERNAL_EVENT_FIELD,
  Keys,
  createRedis,
  deleteNamespace,
  encodeInternalEvent,
  type CheckoutEvent,
  type Redis,
} from '@holdfast/shared';
import { startService } from '@holdfast/fleet';
import { defaultGateConfig, randomId } from './infra.js';

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

interface Probe {
  ns: string;
  keys: Keys;
  r: Redis;
  gate: Gate;
}

/** Runs `fn` on a fresh namespace with the 100 SKUs armed; drops the namespace afterwards. */
async function inFreshNamespace<T>(client: string, fn: (p: Probe) => Promise<T>): Promise<T> {
  const ns = `bench${randomId()}:`;
  const keys = new Keys(ns, 'main');
  const r = createRedis(url, { name: client });
  const gate = new Gate(keys, gateCfg);
  try {
    for (let s = 0; s < 100; s++)
      await gate.admin(r, { type: 'restock', eventId: `a${s}`, sku: `S${s}`, qty: 1_000_000 });
    return await fn({ ns, keys, r, gate });
  } finally {
    await deleteNamespace(r, ns);
    r.disconnect();
  }
}

/** Decisions per second of `send` over N events, each call taking the next `size`. */
async function timed(
  evs: CheckoutEvent[],
  inFlight: number,
  size: number,
  send: (chunk: CheckoutEvent[]) => Promise<unknown>,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < evs.length) {
        const chunk = evs.slice(next, next + size);
        next += size;
        await send(chunk);
      }
    }),
  );
  return evs.length / ((performance.now() - t0) / 1000);
}

/** The one-event script, 8 pipelines of 1,000 in flight. */
function direct(): Promise<number> {
  return inFreshNamespace('bench-direct', ({ r, gate }) =>
    timed(events(N), 8, 1000, async (chunk) => {
      const p = r.pipeline();
      for (const e of chunk) gate.queue(p, e);
      await p.exec();
    }),
  );
}

/** The batch script (decideMany), 8 calls of 500 in flight. */
function directBatched(): Promise<number> {
  return inFreshNamespace('bench-direct-batched', ({ r, gate }) =>
    timed(events(N), 8, 500, (chunk) => gate.decideMany(r, chunk)),
  );
}

/** One reserver draining a pre-filled inbound stream, timed from its "started". */
function viaReserver(): Promise<number> {
  return inFreshNamespace('bench-reserver', async ({ ns, keys, r }) => {
    const evs = events(N);
    for (let i = 0; i < evs.length; i += 1000) {
      const p = r.pipeline();
      for (const e of evs.slice(i, i + 1000))
        p.xadd(
          keys.shard().inbound,
          '*',
          INTERNAL_EVENT_FIELD,
          encodeInternalEvent(e, `${Date.now()}-0`),
        );
      await p.exec();
    }
    const svc = await startService('reserver', {
      REDIS_URL: url,
      HOLDFAST_NAMESPACE: ns,
      OUTCOMES_MAXLEN: '0',
      BATCH_SIZE: process.env.BATCH_SIZE ?? '500',
    });
    try {
      const startedAt = performance.now();
      while ((await r.xlen(keys.shard().outcomes)) < N) await sleep(20);
      return N / ((performance.now() - startedAt) / 1000);
    } finally {
      await svc.kill('SIGTERM');
    }
  });
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
