/**
 * Contract v2 `reply_to` against a real Redis: an event carrying it gets its outcome also on
 * `checkout:replies:{<shard>}:<reply_to>` — the same fields as the outcome stream's entry, in the
 * same atomic step — and a producer retrying after a timeout (a duplicate event_id with a
 * reply_to, dropped by ingest's forwardMany) learns the one decision: the kept outcome when it
 * was decided already, the decision itself when it comes. Reply streams are capped and expire.
 * Carts across shards answer once, when their parts have answered or the deadline aborts them.
 */
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Gate, Keys, runScript, type CheckoutCommand, type ShardKeys } from '@holdfast/shared';
import {
  CFG,
  T0,
  fileEnv,
  reserve,
  confirm,
  restock,
  xrangeAfter,
  type Entry,
} from '@holdfast/testkit/gate';
import { randomId } from '@holdfast/testkit';

const f = fileEnv();
const CFG_REPLY = { ...CFG, replyMaxLen: 10, replyTtlSeconds: 60 };

const withReply = (cmd: CheckoutCommand, replyTo: string): CheckoutCommand => ({ ...cmd, replyTo });

/** ingest's forwardMany on one shard: returns 1 forwarded / 0 duplicate per event. */
function forward(r: Redis, sk: ShardKeys, events: CheckoutCommand[]): Promise<number[]> {
  return runScript<number[]>(
    r,
    'forwardMany',
    [sk.inbound, sk.prefix, sk.repliesPrefix],
    [
      3_600,
      CFG_REPLY.replyMaxLen,
      CFG_REPLY.replyTtlSeconds,
      1,
      ...events.flatMap((e) => [e.eventId, payloadOf(e)]),
    ],
  );
}

const payloadOf = (e: CheckoutCommand, lineShards?: string[]) => {
  const p: Record<string, unknown> = { t: e.type, e: e.eventId, c: e.checkoutId, s: '1-0' };
  if (e.type === 'reserve') {
    p.u = e.userId;
    p.l = e.lines;
  }
  if (lineShards) p.p = lineShards;
  if (e.replyTo) p.r = e.replyTo;
  return JSON.stringify(p);
};

/** The outcome fields without the time they were written (a retry's answer is written later). */
const fieldsOf = (e: Entry) => {
  const { at: _at, ...rest } = e.f;
  return rest;
};

describe('reply_to', () => {
  it('appends each outcome to its reply stream in the same step, with the outcome stream’s fields; no reply_to, no reply stream', async () => {
    const h = f.harness(CFG_REPLY);
    await h.admin(restock('r1', 'A', 1), T0);
    const res = await h.gate.decideMany(
      h.r,
      [
        withReply(reserve('e1', 'c1', 'u1', [['A', 1]]), 'web-1'),
        withReply(reserve('e2', 'c2', 'u2', [['A', 1]]), 'web-2'),
        reserve('e3', 'c3', 'u3', [['A', 1]]),
        withReply(confirm('e4', 'c1'), 'web-1'),
      ],
      T0,
    );
    expect(res.map((d) => (d instanceof Error ? d.message : d.status))).toEqual([
      'reserved',
      'rejected',
      'rejected',
      'confirmed',
    ]);
    const outcomes = await xrangeAfter(h.r, h.sk.outcomes, undefined);
    const web1 = await xrangeAfter(h.r, h.sk.replies('web-1'), undefined);
    const web2 = await xrangeAfter(h.r, h.sk.replies('web-2'), undefined);
    expect(outcomes).toHaveLength(4);
    // Exactly the outcome stream's entries (all fields, `at` included), each on its own stream.
    expect(web1.map((e) => e.f)).toEqual([outcomes[0]!.f, outcomes[3]!.f]);
    expect(web2.map((e) => e.f)).toEqual([outcomes[1]!.f]);
    expect(web2[0]!.f).toMatchObject({ status: 'rejected', reason: 'out_of_stock', shard: 'main' });
    // e3 asked for no reply: no other reply stream exists under the shard's prefix.
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await h.r.scan(
        cursor,
        'MATCH',
        `${h.sk.repliesPrefix}*`,
        'COUNT',
        10_000,
      );
      found.push(...page);
      cursor = next;
    } while (cursor !== '0');
    expect(found.sort()).toEqual([h.sk.replies('web-1'), h.sk.replies('web-2')]);
    // Expiring when unused.
    const ttl = await h.r.ttl(h.sk.replies('web-1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    await h.checkConservation();
  });

  it('keeps a busy reply stream capped near its maxlen', async () => {
    const h = f.harness(CFG_REPLY);
    await h.admin(restock('r1', 'A', 1), T0);
    const cmds = Array.from({ length: 400 }, (_, i) =>
      withReply(reserve(`e${i}`, `c${i}`, `u${i}`, [['A', 1]]), 'busy'),
    );
    await h.gate.decideMany(h.r, cmds, T0);
    expect(await h.r.xlen(h.sk.outcomes)).toBe(400);
    // MAXLEN ~ 10 trims whole stream nodes (100 entries each by default): far below 400.
    expect(await h.r.xlen(h.sk.replies('busy'))).toBeLessThanOrEqual(110);
    // The newest reply is the last decision.
    const [last] = await h.r.xrevrange(h.sk.replies('busy'), '+', '-', 'COUNT', 1);
    expect(last![1]).toContain('e399');
  });

  it('a retry of a decided event gets the one outcome on its reply stream; nothing is decided twice', async () => {
    const h = f.harness(CFG_REPLY);
    await h.admin(restock('r1', 'A', 5), T0);
    const first = withReply(reserve('e1', 'c1', 'u1', [['A', 2]]), 'web-1');
    expect(await forward(h.r, h.sk, [first])).toEqual([1]);
    await h.gate.decideMany(h.r, [first], T0);
    // The producer timed out and retries from another web server.
    expect(await forward(h.r, h.sk, [withReply(first, 'web-9')])).toEqual([0]);
    // A retry without reply_to is dropped silently, as in v1.
    expect(
      await forward(
        h.r,
        h.sk,
        [first].map(({ replyTo: _r, ...c }) => c),
      ),
    ).toEqual([0]);
    const outcomes = await xrangeAfter(h.r, h.sk.outcomes, undefined);
    const retry = await xrangeAfter(h.r, h.sk.replies('web-9'), undefined);
    expect(outcomes).toHaveLength(1);
    expect(retry.map(fieldsOf)).toEqual([fieldsOf(outcomes[0]!)]);
    expect(retry[0]!.f).toMatchObject({ status: 'reserved', type: 'reserve', checkout_id: 'c1' });
    // The stock moved once.
    expect((await h.stock('A'))!.held).toBe(2);
    // A rejection is kept with its reason too.
    const late = withReply(confirm('e2', 'nope'), 'web-1');
    await h.gate.decideMany(h.r, [late], T0);
    await forward(h.r, h.sk, [withReply(late, 'web-8')]);
    const r8 = await xrangeAfter(h.r, h.sk.replies('web-8'), undefined);
    expect(r8.map((e) => [e.f.status, e.f.reason])).toEqual([['rejected', 'unknown_hold']]);
  });

  it('a retry of an event forwarded but not yet decided gets the decision when it comes', async () => {
    const h = f.harness(CFG_REPLY);
    await h.admin(restock('r1', 'A', 5), T0);
    const first = withReply(reserve('e1', 'c1', 'u1', [['A', 1]]), 'web-1');
    expect(await forward(h.r, h.sk, [first, withReply(first, 'web-2')])).toEqual([1, 0]);
    expect(await h.r.exists(h.sk.replies('web-2'))).toBe(0);
    await h.gate.decideMany(h.r, [first], T0);
    const a = await xrangeAfter(h.r, h.sk.replies('web-1'), undefined);
    const b = await xrangeAfter(h.r, h.sk.replies('web-2'), undefined);
    expect(a).toHaveLength(1);
    expect(b.map((e) => e.f)).toEqual(a.map((e) => e.f));
    expect(await h.r.xlen(h.sk.outcomes)).toBe(1);
  });

  it('refuses a malformed reply_to in a payload before writing anything', async () => {
    const h = f.harness(CFG_REPLY);
    await h.admin(restock('r1', 'A', 5), T0);
    const bad = withReply(reserve('e1', 'c1', 'u1', [['A', 1]]), 'no spaces{}');
    const [res] = await h.gate.decideMany(h.r, [bad], T0);
    expect(res).toBeInstanceOf(Error);
    expect((res as Error).message).toMatch(/bad_event: r \(reply_to\)/);
    expect(await h.r.xlen(h.sk.outcomes)).toBe(0);
    expect((await h.stock('A'))!.available).toBe(5);
  });
});

describe('reply_to on a cart across shards', () => {
  /** Two shards on one Redis; `relay` delivers every outbox message once (as the reserver's relay). */
  function twoShards() {
    const r = f.clients(1)[0]!;
    const keys = new Keys(`${f.env.namespace}${randomId()}:`, ['a', 'b']);
    const gates = { a: new Gate(keys, CFG_REPLY, 'a'), b: new Gate(keys, CFG_REPLY, 'b') };
    const cursors: Record<string, string | undefined> = {};
    const relay = async (now: number) => {
      for (let moved = true; moved;) {
        moved = false;
        for (const from of ['a', 'b'] as const) {
          const msgs = await xrangeAfter(r, keys.shard(from).outbox, cursors[from]);
          if (!msgs.length) continue;
          cursors[from] = msgs[msgs.length - 1]!.id;
          for (const m of msgs) {
            const to = m.f.to as 'a' | 'b';
            await gates[to].decidePayloads(r, [m.f.m!], now);
            moved = true;
          }
        }
      }
    };
    return { r, keys, gates, relay };
  }

  it('answers once on the home shard’s reply stream when every part has answered; a retry while pending is answered too', async () => {
    const { r, keys, gates, relay } = twoShards();
    await gates.a.admin(r, { type: 'restock', eventId: 'r1', sku: 'A', qty: 5 }, T0);
    await gates.b.admin(r, { type: 'restock', eventId: 'r2', sku: 'B', qty: 5 }, T0);
    const cart = withReply(
      reserve('e1', 'c1', 'u1', [
        ['A', 1],
        ['B', 1],
      ]),
      'web-1',
    );
    const home = keys.shard('a');
    await forward(r, home, [cart]);
    const [pending] = await gates.a.decidePayloads(r, [payloadOf(cart, ['a', 'b'])], T0);
    expect(pending).toMatchObject({ status: 'pending' });
    expect(await r.exists(home.replies('web-1'))).toBe(0);
    // The producer retries while the parts are still on their way.
    expect(await forward(r, home, [withReply(cart, 'web-2')])).toEqual([0]);
    await relay(T0);
    const a = await xrangeAfter(r, home.replies('web-1'), undefined);
    const b = await xrangeAfter(r, home.replies('web-2'), undefined);
    expect(a.map((e) => [e.f.status, e.f.shard, e.f.event_id])).toEqual([['reserved', 'a', 'e1']]);
    expect(b.map((e) => e.f)).toEqual(a.map((e) => e.f));
    // The other shard wrote no reply (it is not where the cart's outcome lives).
    expect(await r.exists(keys.shard('b').replies('web-1'))).toBe(0);
    // A retry after the decision gets the kept outcome.
    await forward(r, home, [withReply(cart, 'web-3')]);
    const c = await xrangeAfter(r, home.replies('web-3'), undefined);
    expect(c.map(fieldsOf)).toEqual(a.map(fieldsOf));
  });

  it('answers a cart aborted at the cross-shard deadline (shard_timeout) on its reply stream', async () => {
    const { r, keys, gates } = twoShards();
    await gates.a.admin(r, { type: 'restock', eventId: 'r1', sku: 'A', qty: 5 }, T0);
    const cart = withReply(
      reserve('e1', 'c1', 'u1', [
        ['A', 1],
        ['B', 1],
      ]),
      'web-1',
    );
    await gates.a.decidePayloads(r, [payloadOf(cart, ['a', 'b'])], T0);
    // Shard b never answers (its reserver is down): the sweep aborts the cart at the deadline.
    expect(await gates.a.expireDue(r, 100, T0 + 11_000)).toBe(0);
    const replies = await xrangeAfter(r, keys.shard('a').replies('web-1'), undefined);
    expect(replies.map((e) => [e.f.status, e.f.reason])).toEqual([['rejected', 'shard_timeout']]);
    const outcomes = await xrangeAfter(r, keys.shard('a').outcomes, undefined);
    expect(outcomes.map((e) => e.f)).toEqual(replies.map((e) => e.f));
  });
});
