/**
 * What a cart across shards costs in latency next to a single-shard one: ingest and one
 * reserver serving three shards (a, b, c) of the local Redis, a paced stream of reserves —
 * single-shard carts, carts over two shards and over three — and each reserve's latency from its
 * checkout:events entry to its outcome (`at` − entry id ms, the Redis clock, as the benchmark's A
 * latency). Every cart is in stock, so every outcome is `reserved` after its parts answered.
 *   pnpm --filter @holdfast/bench exec tsx src/cart-latency.ts [carts per kind] [events/s]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Gate,
  Keys,
  Placement,
  createRedis,
  deleteNamespace,
  streamIdMs,
  toFields,
} from '@holdfast/shared';
import { startService, stopAll } from '@holdfast/fleet';
import { defaultGateConfig, randomId } from './infra.js';
import { summarize } from './stats.js';

const PER_KIND = Number(process.argv[2] ?? 1_000);
const RATE = Number(process.argv[3] ?? 300);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SHARDS = ['a', 'b', 'c'];
const KINDS = [
  { name: 'one shard', lines: (i: number) => [[`A${i % 10}`, 1]] },
  {
    name: 'two shards',
    lines: (i: number) => [
      [`A${i % 10}`, 1],
      [`B${i % 10}`, 1],
    ],
  },
  {
    name: 'three shards',
    lines: (i: number) => [
      [`A${i % 10}`, 1],
      [`B${i % 10}`, 1],
      [`C${i % 10}`, 1],
    ],
  },
] as const;

const ns = `bench${randomId()}:`;
const keys = new Keys(ns, SHARDS);
const r = createRedis(url, { name: 'hf-cart-latency' });
const env = { REDIS_URL: url, HOLDFAST_NAMESPACE: ns, HOLDFAST_SHARDS: SHARDS.join(',') };
const services = await Promise.all([startService('ingest', env), startService('reserver', env)]);
try {
  // SKU X<k> lives on shard x, with stock for every cart.
  const placement = new Placement(r, keys);
  for (const [s, shard] of SHARDS.entries()) {
    const gate = new Gate(keys, defaultGateConfig(), shard);
    for (let k = 0; k < 10; k++) {
      const sku = `${'ABC'[s]}${k}`;
      await placement.ensure(sku, shard);
      await gate.admin(r, { type: 'restock', eventId: `rs-${sku}`, sku, qty: 1_000_000 });
    }
  }
  const sentAt = new Map<string, { kind: string; ms: number }>();
  const total = PER_KIND * KINDS.length;
  const t0 = Date.now();
  for (let i = 0; i < total; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const lines = kind.lines(i).map(([sku, qty]) => ({ sku, qty }));
    const id = await r.xadd(
      keys.streams.events,
      '*',
      ...['type', 'reserve', 'event_id', `e${i}`, 'checkout_id', `c${i}`, 'user_id', `u${i}`],
      ...['lines', JSON.stringify(lines)],
    );
    sentAt.set(`e${i}`, { kind: kind.name, ms: streamIdMs(id!) });
    const ahead = t0 + ((i + 1) * 1000) / RATE - Date.now();
    if (ahead > 0) await sleep(ahead);
  }
  // Every reserve's outcome, on its home shard (the first line's: a).
  const latency = new Map<string, number[]>(KINDS.map((k) => [k.name, []]));
  const deadline = Date.now() + 60_000;
  let seen = 0;
  while (seen < total && Date.now() < deadline) {
    seen = 0;
    for (const l of latency.values()) l.length = 0;
    for (const stream of keys.outcomeStreams) {
      for (const [, f] of await r.xrange(stream, '-', '+')) {
        const o = toFields(f);
        const s = sentAt.get(o.event_id ?? '');
        if (!s || o.type !== 'reserve') continue;
        if (o.status !== 'reserved') throw new Error(`${o.event_id}: ${o.status} ${o.reason}`);
        latency.get(s.kind)!.push(Number(o.at) - s.ms);
        seen++;
      }
    }
    if (seen < total) await sleep(200);
  }
  if (seen < total) throw new Error(`${total - seen} outcomes missing after 60 s`);
  console.log(
    `cart latency, ${PER_KIND} carts per kind at ${RATE} carts/s, ingest + 1 reserver on 3 shards of one Redis (${new Date().toISOString()}):`,
  );
  for (const [kind, values] of latency) {
    const s = summarize(values);
    console.log(`  ${kind.padEnd(12)} p50 ${s.p50} ms  p99 ${s.p99} ms  max ${s.max} ms`);
  }
} finally {
  await stopAll(services);
  await deleteNamespace(r, ns);
  r.disconnect();
}
