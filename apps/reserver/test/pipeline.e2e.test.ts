/**
 * ingest → reserver through the real streams, as real processes on real Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys, createRedis, type Redis } from '@holdfast/shared';
import { isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';
import { startService, stopAll, type RunningService } from '@holdfast/testkit';
import {
  outcomesByEvent,
  readAllStock,
  readStream,
  stockViolations,
  xaddMany,
  ledgerSummary,
} from '@holdfast/shared/inspect';
import { MALFORMED } from './corpus.js';

const FAST = {
  CLAIM_IDLE_MS: '1000',
  HOUSEKEEPING_MS: '500',
  BLOCK_MS: '200',
  SWEEP_INTERVAL_MS: '100',
};

async function fleet(env: IsolatedEnv, replicas = 1): Promise<RunningService[]> {
  const all: Array<Promise<RunningService>> = [];
  for (let i = 0; i < replicas; i++) {
    all.push(startService('ingest', { ...env.env, ...FAST }));
    all.push(startService('reserver', { ...env.env, ...FAST }));
  }
  return Promise.all(all);
}

describe('ingest → reserver', () => {
  let env: IsolatedEnv;
  let redis: Redis;
  let keys: Keys;
  let services: RunningService[] = [];

  beforeAll(async () => {
    env = await isolatedEnv({ mysql: false });
    keys = new Keys(env.namespace, 'main');
    redis = createRedis(env.redisUrl, { name: 'test' });
    services = await fleet(env);
  });
  afterAll(async () => {
    await stopAll(services);
    redis.disconnect();
    await env.cleanup();
  });

  it('decides each event exactly once, however often it is sent', async () => {
    await xaddMany(redis, keys.streams.admin, [
      { type: 'restock', event_id: 'dup-a1', sku: 'DUP', qty: '10' },
      { type: 'restock', event_id: 'dup-a1', sku: 'DUP', qty: '10' }, // duplicate admin event
    ]);
    await waitFor(async () => (await redis.hget(keys.shard().stock('DUP'), 'total')) === '10');
    const events = [];
    for (let i = 0; i < 20; i++) {
      const e = {
        type: 'reserve',
        event_id: `dup-r${i}`,
        checkout_id: `dup-c${i}`,
        user_id: `u${i}`,
        sku: 'DUP',
        qty: '1',
      };
      events.push(e, e, e); // each sent three times
    }
    await xaddMany(redis, keys.streams.events, events);
    await waitFor(async () => {
      const o = await outcomesByEvent(redis, keys);
      return [...o.keys()].filter((k) => k.startsWith('dup-r')).length === 20;
    });
    // Let any stray duplicate surface before asserting there is none: wait until the
    // ingest group has nothing pending and no lag.
    await waitFor(async () => {
      const g = (await redis.xinfo('GROUPS', keys.streams.events)) as unknown[][];
      const info = Object.fromEntries(
        g[0]!.reduce<[unknown, unknown][]>(
          (a, v, i, arr) => (i % 2 ? a : [...a, [v, arr[i + 1]]]),
          [],
        ),
      );
      return Number(info.pending) === 0 && Number(info.lag) === 0;
    });
    const outcomes = await outcomesByEvent(redis, keys);
    const mine = [...outcomes.entries()].filter(([k]) => k.startsWith('dup-r'));
    expect(mine.every(([, list]) => list.length === 1)).toBe(true);
    expect(mine.map(([, l]) => l[0]!.status).filter((s) => s === 'reserved')).toHaveLength(10);
    const stock = (await readAllStock(redis, keys)).find((r) => r.sku === 'DUP')!;
    expect(stock).toMatchObject({ total: 10, available: 0, held: 10, sold: 0 });
  });

  it('answers reply_to on the producer’s reply stream, a retry too, and dead-letters a bad reply_to', async () => {
    await xaddMany(redis, keys.streams.admin, [
      { type: 'restock', event_id: 'rt-a1', sku: 'RT', qty: '1' },
    ]);
    await waitFor(async () => (await redis.hget(keys.shard().stock('RT'), 'total')) === '1');
    const buy = (n: number, replyTo: string) => ({
      type: 'reserve',
      event_id: `rt-r${n}`,
      checkout_id: `rt-c${n}`,
      user_id: `u${n}`,
      sku: 'RT',
      qty: '1',
      reply_to: replyTo,
    });
    await xaddMany(redis, keys.streams.events, [buy(1, 'web-a'), buy(2, 'web-b')]);
    const replies = (to: string) => readStream(redis, keys.shard().replies(to));
    await waitFor(
      async () => (await replies('web-a')).length + (await replies('web-b')).length === 2,
    );
    const a = await replies('web-a');
    const b = await replies('web-b');
    expect([a[0]!.status, b[0]!.status].sort()).toEqual(['rejected', 'reserved']);
    expect(a[0]!).toMatchObject({ event_id: 'rt-r1', checkout_id: 'rt-c1', shard: 'main' });
    // web-a timed out and a colleague retries the same event: it learns the one decision.
    await xaddMany(redis, keys.streams.events, [buy(1, 'web-c')]);
    await waitFor(async () => (await replies('web-c')).length === 1);
    const c = await replies('web-c');
    expect(c[0]!.status).toBe(a[0]!.status);
    expect(c[0]!.event_id).toBe('rt-r1');
    // Decided once: one outcome per event, the SKU's one unit held once.
    const outcomes = await outcomesByEvent(redis, keys);
    expect(outcomes.get('rt-r1')).toHaveLength(1);
    const stock = (await readAllStock(redis, keys)).find((r) => r.sku === 'RT')!;
    expect(stock).toMatchObject({ total: 1, available: 0, held: 1 });
    // A reply_to that can't name a stream is bad input: a dead letter, no decision.
    await xaddMany(redis, keys.streams.events, [{ ...buy(3, 'web a'), sku: 'RT' }]);
    await waitFor(async () =>
      (await readStream(redis, keys.streams.dead)).some((d) => d.event_id === 'rt-r3'),
    );
    const dead = (await readStream(redis, keys.streams.dead)).find((d) => d.event_id === 'rt-r3')!;
    expect(dead.reason).toBe('invalid_field');
    expect((await outcomesByEvent(redis, keys)).has('rt-r3')).toBe(false);
  });

  it('dead-letters every malformed entry once, changes no stock, and keeps valid entries flowing', async () => {
    await xaddMany(redis, keys.streams.admin, [
      { type: 'restock', event_id: 'bad-a1', sku: 'HOT', qty: '1000' },
    ]);
    await waitFor(async () => (await redis.hget(keys.shard().stock('HOT'), 'total')) === '1000');
    const before = await readAllStock(redis, keys);
    const deadBefore = await redis.xlen(keys.streams.dead);
    // Interleave: malformed, valid, malformed, valid …
    const p = redis.pipeline();
    MALFORMED.forEach((m, i) => {
      p.xadd(keys.streams.events, '*', ...m.fields);
      p.xadd(
        keys.streams.events,
        '*',
        'type',
        'reserve',
        'event_id',
        `ok-r${i}`,
        'checkout_id',
        `ok-c${i}`,
        'user_id',
        `okuser${i}`,
        'sku',
        'HOT',
        'qty',
        '1',
      );
    });
    await p.exec();
    await waitFor(
      async () => (await redis.xlen(keys.streams.dead)) - deadBefore >= MALFORMED.length,
      { what: 'dead letters' },
    );
    await waitFor(
      async () => {
        const o = await outcomesByEvent(redis, keys);
        return MALFORMED.every((_, i) => o.has(`ok-r${i}`));
      },
      { what: 'valid outcomes' },
    );
    const dead = (await readStream(redis, keys.streams.dead)).slice(deadBefore);
    expect(dead).toHaveLength(MALFORMED.length);
    for (const d of dead) {
      expect(d.reason, JSON.stringify(d).slice(0, 200)).toMatch(/^[a-z_]+$/);
      expect(d.source_stream).toBe(keys.streams.events);
      expect(d.source_id).toMatch(/^\d+-\d+$/);
    }
    // Every corpus entry is accounted for by its own source id.
    expect(new Set(dead.map((d) => d.source_id)).size).toBe(MALFORMED.length);
    const after = await readAllStock(redis, keys);
    const hot = after.find((r) => r.sku === 'HOT')!;
    const hotBefore = before.find((r) => r.sku === 'HOT')!;
    // Only the valid reserves (1 unit each) moved stock.
    expect(hot.held - hotBefore.held).toBe(MALFORMED.length);
    expect(after.filter((r) => r.sku !== 'HOT')).toEqual(before.filter((r) => r.sku !== 'HOT'));
    expect(stockViolations(after)).toEqual([]);
    // Workers are still alive and healthy.
    for (const s of services) {
      const res = await fetch(`http://127.0.0.1:${s.port}/healthz`);
      expect(res.status).toBe(200);
    }
  });

  it('dead-letters a corrupt entry on the internal stream at once, with no write, and decides the rest', async () => {
    // S in is written by ingest only; a corrupt entry (a bug, a manual XADD) must not stall the
    // reserver, retry forever or move stock. The gate checks the payload before any write.
    await xaddMany(redis, keys.streams.admin, [
      { type: 'restock', event_id: 'int-a1', sku: 'INT', qty: '10' },
    ]);
    await waitFor(async () => (await redis.hget(keys.shard().stock('INT'), 'total')) === '10');
    const deadBefore = await redis.xlen(keys.streams.dead);
    const good = (i: number) =>
      JSON.stringify({
        t: 'reserve',
        e: `int-r${i}`,
        c: `int-c${i}`,
        u: 'u',
        l: [['INT', 1]],
        s: '1-0',
      });
    const corrupt: string[][] = [
      ['type', 'reserve', 'event_id', 'int-x0'], // the old one-field-per-value form
      ['e', 'not json'],
      [
        'e',
        JSON.stringify({ t: 'reserve', e: 'int-x1', c: 'k', u: 'u', l: [['INT', -1]], s: '1-0' }),
      ],
      ['e', JSON.stringify({ t: 'restock', e: 'int-x2', c: 'k', s: '1-0' })],
    ];
    const p = redis.pipeline();
    p.xadd(keys.shard().inbound, '*', 'e', good(0));
    for (const fields of corrupt) p.xadd(keys.shard().inbound, '*', ...fields);
    p.xadd(keys.shard().inbound, '*', 'e', good(1));
    // An entry in the earlier one-field-per-value format (written before an upgrade) is decided.
    p.xadd(
      keys.shard().inbound,
      '*',
      ...['type', 'reserve', 'event_id', 'int-l1', 'checkout_id', 'int-lc1', 'user_id', 'u'],
      ...['lines', '[["INT",1]]', 'src_id', '1-0'],
    );
    await p.exec();
    await waitFor(
      async () => (await redis.xlen(keys.streams.dead)) - deadBefore >= corrupt.length,
      { what: 'dead letters of the corrupt entries' },
    );
    const dead = (await readStream(redis, keys.streams.dead)).slice(deadBefore);
    expect(dead).toHaveLength(corrupt.length);
    for (const d of dead) {
      expect(d.reason).toBe('bad_internal_event');
      expect(d.source_stream).toBe(keys.shard().inbound);
      expect(d.deliveries).toBe('1'); // dead on first delivery, not after retries
    }
    await waitFor(async () => {
      const o = await outcomesByEvent(redis, keys);
      return o.has('int-r0') && o.has('int-r1') && o.has('int-l1');
    });
    const ints = (await readAllStock(redis, keys)).find((r) => r.sku === 'INT')!;
    expect(ints).toMatchObject({ total: 10, available: 7, held: 3 });
    for (const id of ['int-x0', 'int-x1', 'int-x2'])
      expect(await redis.exists(keys.shard().event(id)), id).toBe(0);
  });
});

describe('replicas', () => {
  /** Runs one order-independent workload and returns what users see. */
  async function runWorkload(replicas: number) {
    const env = await isolatedEnv({ mysql: false });
    const keys = new Keys(env.namespace, 'main');
    const redis = createRedis(env.redisUrl, { name: 'test' });
    const services = await fleet(env, replicas);
    try {
      await xaddMany(redis, keys.streams.admin, [
        { type: 'restock', event_id: 'a1', sku: 'A', qty: '300' },
        { type: 'restock', event_id: 'a2', sku: 'B', qty: '1000' },
        { type: 'set_limit', event_id: 'a3', sku: 'B', per_user: '2' },
      ]);
      await waitFor(async () => (await redis.hget(keys.shard().stock('B'), 'per_user')) === '2');
      const reserves = Array.from({ length: 600 }, (_, i) => ({
        type: 'reserve',
        event_id: `r${i}`,
        checkout_id: `c${i}`,
        user_id: `u${i % 200}`,
        lines: JSON.stringify([
          { sku: 'A', qty: 1 },
          { sku: 'B', qty: 1 },
        ]),
      }));
      await xaddMany(redis, keys.streams.events, [...reserves, ...reserves.slice(0, 100)]);
      await waitFor(async () => (await outcomesByEvent(redis, keys)).size === 600, {
        what: 'reserve outcomes',
      });
      const reserved = [...(await outcomesByEvent(redis, keys)).values()]
        .map((l) => l[0]!)
        .filter((o) => o.status === 'reserved');
      // Confirm the even checkouts, cancel the odd ones.
      await xaddMany(
        redis,
        keys.streams.events,
        reserved.map((o) => {
          const n = Number(o.checkout_id!.slice(1));
          return {
            type: n % 2 ? 'cancel' : 'confirm',
            event_id: `f${n}`,
            checkout_id: o.checkout_id!,
          };
        }),
      );
      await waitFor(
        async () => (await outcomesByEvent(redis, keys)).size === 600 + reserved.length,
        { what: 'final outcomes' },
      );
      const outcomes = await outcomesByEvent(redis, keys);
      const byStatus: Record<string, number> = {};
      let maxPerEvent = 0;
      for (const list of outcomes.values()) {
        maxPerEvent = Math.max(maxPerEvent, list.length);
        const k = list[0]!.reason ?? list[0]!.status!;
        byStatus[k] = (byStatus[k] ?? 0) + 1;
      }
      const stock = await readAllStock(redis, keys);
      const ledger = await ledgerSummary(redis, keys);
      return { byStatus, maxPerEvent, stock, violations: stockViolations(stock), ledger };
    } finally {
      await stopAll(services);
      redis.disconnect();
      await env.cleanup();
    }
  }

  it('two replicas of each service give the same results as one', async () => {
    const one = await runWorkload(1);
    const two = await runWorkload(2);
    // Per-user limit 2 on B with 3 carts per user: 400 carts fit B's limit, A's 300 units cap them.
    expect(one.byStatus.reserved).toBe(300);
    expect(one.maxPerEvent).toBe(1);
    expect(two.maxPerEvent).toBe(1);
    expect(one.violations).toEqual([]);
    expect(two.violations).toEqual([]);
    // Which buyer won a unit depends on arrival order; the totals users see must not.
    expect(two.byStatus.reserved).toBe(one.byStatus.reserved);
    expect((two.byStatus.out_of_stock ?? 0) + (two.byStatus.user_limit ?? 0)).toBe(
      (one.byStatus.out_of_stock ?? 0) + (one.byStatus.user_limit ?? 0),
    );
    expect(two.byStatus.confirmed).toBe(one.byStatus.confirmed);
    expect(two.byStatus.cancelled).toBe(one.byStatus.cancelled);
    expect(two.stock.map((r) => [r.sku, r.total, r.held, r.sold + r.available])).toEqual(
      one.stock.map((r) => [r.sku, r.total, r.held, r.sold + r.available]),
    );
    for (const run of [one, two]) {
      expect(run.ledger.doubled).toEqual([]);
      for (const r of run.stock) {
        const [dt, da, dh, ds] = run.ledger.perSku.get(r.sku)!;
        expect([dt, da, dh, ds]).toEqual([r.total, r.available, r.held, r.sold]);
      }
    }
  });
});
