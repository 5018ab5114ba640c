/**
 * A world of three shards for the reservation-saga tests (saga.property.test.ts): one Gate per
 * shard over one Redis (namespaced Keys) or a Redis Cluster, a test relay that moves each shard's
 * outbox messages (`hf:{s}:out`, consumer group `relay`) to their target shard's gate in any
 * order, at least once, and the checks of what users are promised, run after every step:
 *
 *   - stock: for every SKU on every shard available ≥ 0, held + sold ≤ total,
 *     available + held + sold = total; per-user limits never exceeded;
 *   - books: every shard's ledger summed per SKU equals its counters; change ids unique;
 *   - units are where the cart states say: held on a shard = the lines of that shard of every
 *     pending/active home hold and every `held` part; sold = those of every confirmed home hold
 *     and `sold` part (lines taken from the commands sent, not from Redis); usage likewise —
 *     over every cart that ever got a hold, also a rejected one whose checkout reserved again
 *     (its home hold is replaced, but its parts may stay held until their part_release);
 *   - a reserve of a checkout whose hold is pending/active/finished is `hold_exists`; a
 *     rejected cart across shards is no hold (the checkout may reserve again);
 *   - one outcome per event: never two outcomes for one event_id over all shards, on the
 *     shard that decided it; a reserve decided at once has its outcome at once; a pending
 *     cart has none until its home hold leaves `pending`, then exactly one (reserved iff the
 *     hold became active); a `reserved` outcome's expires_at is after its time;
 *   - every `part_result` is answered as predicted from the home hold before it (ignored when
 *     not the pending cart's or a repeat; a refusal aborts; the last ok makes the cart active,
 *     or aborts it `shard_timeout` at or past the hold's deadline);
 *   - all or nothing: a home hold `active` ⇒ every part `held`; `confirmed` ⇒ parts held/sold;
 *     never a part `sold` unless the home is confirmed; with nothing left to relay: a
 *     rejected/cancelled/expired cart holds nothing anywhere and a confirmed one sold every part;
 *   - a re-sent event or a re-delivered message changes no counter and writes no outcome or
 *     ledger entry.
 *
 * The world is driven with an explicit clock (`now`), so deadlines are deterministic.
 */
import { expect } from 'vitest';
import type { Redis } from 'ioredis';
import {
  Gate,
  Keys,
  encodeInternalEvent,
  type BatchDecision,
  type CheckoutCommand,
  type GateConfig,
} from '@holdfast/shared';
import {
  CFG,
  T0,
  applyDeltas,
  assertConservation,
  parseLedger,
  xrangeAfter,
  type StockMap,
} from '@holdfast/testkit/gate';

/** The default shard names (on a Redis Cluster the test picks names on three primaries). */
export const SHARDS = ['s0', 's1', 's2'] as const;
/**
 * Two SKUs per shard (A0, B0 on the first shard, A1, B1 on the second, …) and one SKU nobody
 * restocked, placed on the third.
 */
export const SKUS = ['A0', 'B0', 'A1', 'B1', 'A2', 'B2'] as const;
export const UNKNOWN_SKU = 'X2';
export const USERS = ['u0', 'u1', 'u2'] as const;
const GROUP = 'relay';

export interface Cart {
  eventId: string;
  checkoutId: string;
  user: string;
  lines: Array<[string, number]>;
  /** The shard of each line (placement). */
  lineShards: string[];
  home: string;
  /** Some line lives on another shard than home: a saga. */
  cross: boolean;
  /** The status the home gate answered first (reserved / pending / rejected). */
  first: string;
}

/** What a follow-up (confirm / cancel / extend) was sent as, and where. */
interface FollowUp {
  cmd: CheckoutCommand;
  shard: string;
  status: string;
  /** The checkout's current cart when it was sent. */
  cart: Cart | undefined;
}

interface HoldSnap {
  state: string;
  eventId: string;
  expiresAt: number;
}

export interface Snapshot {
  stock: Map<string, StockMap>;
  /** shard → checkout id → home hold (carts that got a hold only). */
  holds: Map<string, Map<string, HoldSnap>>;
  /** shard → reserve event id → part state. */
  parts: Map<string, Map<string, string>>;
  /** Messages written to an outbox and not acked yet (all shards). */
  inFlight: number;
  newOutcomes: number;
  newLedger: number;
}

/** A message read from an outbox (its stream entry id, target and payload). */
export interface OutMsg {
  from: string;
  id: string;
  to: string;
  m: string;
  type: string;
}

export type RelayMode = 'deliver' | 'twice' | 'noAck' | 'lost';

export class SagaWorld {
  readonly keys: Keys;
  readonly gates = new Map<string, Gate>();
  now = T0;
  readonly carts = new Map<string, Cart>();
  /**
   * checkout id → its current cart: the last one that got a hold (hold_exists refuses another
   * while it lasts, unless it ended `rejected`: then a new cart of the checkout replaces it).
   */
  readonly cartOfCheckout = new Map<string, Cart>();
  /** Every cart that ever got a hold, current or replaced (for where its units are). */
  readonly heldCarts: Cart[] = [];
  /** reserve event id → the part shards whose part_result its home recorded. */
  private readonly answered = new Map<string, Set<string>>();
  /** checkout id → shard (ingest's routing record: the first reserve's home). */
  readonly routeOfCheckout = new Map<string, string>();
  /** Every inbound payload decided once (for re-sends). */
  readonly inbound: Array<{ shard: string; payload: string }> = [];
  /** Every outbox message delivered at least once (for re-deliveries). */
  readonly relayed: Array<{ to: string; m: string }> = [];
  readonly followUps = new Map<string, FollowUp>();
  /** event_id → its one outcome. */
  readonly outcomes = new Map<string, Record<string, string>>();
  readonly coverage = new Map<string, number>();
  /** The last snapshot (after the previous step). */
  last: Snapshot | undefined;
  private ev = 0;
  private acked = new Map<string, number>();
  private outCursor = new Map<string, string | undefined>();
  private ledCursor = new Map<string, string | undefined>();
  private sums = new Map<string, StockMap>();
  private changeIds = new Set<string>();
  private readonly log: string[] = [];

  constructor(
    readonly r: Redis,
    namespace: string,
    readonly cfg: GateConfig = { ...CFG, crossShardTimeoutMs: 5_000 },
    readonly shards: readonly string[] = SHARDS,
  ) {
    this.keys = new Keys(namespace, [...shards]);
    for (const s of shards) {
      this.gates.set(s, new Gate(this.keys, cfg, s));
      this.acked.set(s, 0);
      this.sums.set(s, new Map());
    }
  }

  note(k: string): void {
    this.coverage.set(k, (this.coverage.get(k) ?? 0) + 1);
  }

  /** The steps so far, for a failure message (a replayable trace). */
  trace(): string {
    return this.log.join('\n');
  }

  /** The shard a SKU is placed on (its digit indexes the shards). */
  shardOfSku(sku: string): string {
    return this.shards[Number(sku.slice(1))]!;
  }

  private gate(s: string): Gate {
    return this.gates.get(s)!;
  }

  // ------------------------------------------------------------------ setup

  async setup(stock: readonly number[], limits: readonly number[]): Promise<void> {
    for (const s of this.shards) {
      await this.r.xgroup('CREATE', this.keys.shard(s).outbox, GROUP, '0', 'MKSTREAM');
    }
    for (let i = 0; i < SKUS.length; i++) {
      const sku = SKUS[i]!;
      const g = this.gate(this.shardOfSku(sku));
      // Every SKU exists (restock 0 is refused by validation, so stock 0 = restock then sell
      // nothing: restock 1 at least, the generator picks ≥ 0 extra).
      expect(
        await g.admin(this.r, { type: 'restock', eventId: `r-${sku}`, sku, qty: stock[i]! + 1 }),
      ).toBe('restocked');
      if (limits[i]! > 0)
        await g.admin(this.r, {
          type: 'set_limit',
          eventId: `l-${sku}`,
          sku,
          perUser: limits[i]!,
        });
    }
    this.log.push(`setup stock=${JSON.stringify(stock)} limits=${JSON.stringify(limits)}`);
    this.last = await this.check('setup');
  }

  // ------------------------------------------------------------------ checkout events

  tick(dt: number): void {
    this.now += dt;
  }

  /**
   * A reserve as ingest routes it: home = the checkout's recorded shard, else the first line's;
   * `p` (each line's shard) when some line lives elsewhere. `dupInBatch` sends it twice in one
   * batch (the second must be a duplicate).
   */
  async reserve(
    checkoutId: string,
    user: string,
    lines: Array<[string, number]>,
    holdSeconds?: number,
    dupInBatch = false,
  ): Promise<Cart> {
    const lineShards = lines.map(([sku]) => this.shardOfSku(sku));
    const home = this.routeOfCheckout.get(checkoutId) ?? lineShards[0]!;
    if (!this.routeOfCheckout.has(checkoutId)) this.routeOfCheckout.set(checkoutId, home);
    const cross = lineShards.some((s) => s !== home);
    const cmd: CheckoutCommand = {
      type: 'reserve',
      eventId: `e${++this.ev}`,
      checkoutId,
      userId: user,
      lines,
      holdSeconds,
    };
    const payload = encodeInternalEvent(cmd, `0-${this.ev}`, cross ? lineShards : undefined);
    this.log.push(
      `@${this.now - T0} reserve ${cmd.eventId} ${checkoutId} ${user} ${JSON.stringify(lines)} h=${holdSeconds} home=${home}${dupInBatch ? ' (twice in one batch)' : ''}`,
    );
    const res = await this.gate(home).decidePayloads(
      this.r,
      dupInBatch ? [payload, payload] : [payload],
      this.now,
    );
    const d = ok(res[0]);
    if (dupInBatch)
      expect(ok(res[1]).status, 'the same reserve twice in a batch').toBe('duplicate');
    this.inbound.push({ shard: home, payload });
    // The checkout's hold before the call (the last snapshot): any hold but a rejected cart
    // refuses a second one.
    const prev = this.cartOfCheckout.get(checkoutId);
    const prevState = prev && this.last!.holds.get(prev.home)!.get(checkoutId)!.state;
    if (prev && prevState !== 'rejected')
      expect(
        `${d.status}:${d.reason ?? ''}`,
        `reserve ${cmd.eventId} of ${checkoutId} (hold ${prevState})`,
      ).toBe('rejected:hold_exists');
    else
      expect(d.reason, `reserve ${cmd.eventId} of ${checkoutId} (no hold)`).not.toBe('hold_exists');
    const cart: Cart = {
      eventId: cmd.eventId,
      checkoutId,
      user,
      lines,
      lineShards,
      home,
      cross,
      first: d.status,
    };
    expect(
      cross ? ['pending', 'rejected'] : ['reserved', 'rejected'],
      `reserve ${cmd.eventId} answered ${d.status}`,
    ).toContain(d.status);
    this.carts.set(cmd.eventId, cart);
    if (d.status !== 'rejected') {
      expect(
        [undefined, 'rejected'],
        `a second hold for ${checkoutId}: only a rejected cart's may be replaced`,
      ).toContain(prevState);
      if (prev) this.note('reserve:replaces-rejected-cart');
      this.cartOfCheckout.set(checkoutId, cart);
      this.heldCarts.push(cart);
    }
    this.note(`reserve${cross ? '(cross)' : ''}:${d.status}:${d.reason ?? ''}`);
    this.log.push(`  -> ${d.status} ${d.reason ?? ''}`);
    await this.step(`reserve ${cmd.eventId}`);
    return cart;
  }

  /**
   * Confirm / cancel / extend at the checkout's home. The answer is predicted from the home
   * hold's state before the call (the one rule of load_active_hold in includes/decide.lua).
   */
  async followUp(
    type: 'confirm' | 'cancel' | 'extend',
    checkoutId: string,
    holdSeconds?: number,
  ): Promise<string> {
    const shard = this.routeOfCheckout.get(checkoutId) ?? this.shards[0]!;
    const eventId = `e${++this.ev}`;
    const cmd: CheckoutCommand =
      type === 'extend'
        ? { type, eventId, checkoutId, holdSeconds }
        : { type, eventId, checkoutId };
    const cart = this.cartOfCheckout.get(checkoutId);
    const before = cart ? this.last!.holds.get(cart.home)!.get(checkoutId) : undefined;
    const rejectedBecause: Record<string, string> = {
      pending: 'hold_pending',
      rejected: 'unknown_hold',
      confirmed: 'hold_confirmed',
      cancelled: 'hold_cancelled',
      expired: 'hold_expired',
    };
    let want: string;
    if (!before) want = 'rejected:unknown_hold';
    else if (before.state !== 'active') want = `rejected:${rejectedBecause[before.state]}`;
    else if (type !== 'cancel' && this.now >= before.expiresAt) want = 'rejected:hold_expired';
    else want = { confirm: 'confirmed:', cancel: 'cancelled:', extend: 'extended:' }[type];

    const payload = encodeInternalEvent(cmd, `0-${this.ev}`);
    this.log.push(`@${this.now - T0} ${type} ${eventId} ${checkoutId} at ${shard}`);
    const d = ok((await this.gate(shard).decidePayloads(this.r, [payload], this.now))[0]);
    this.inbound.push({ shard, payload });
    this.followUps.set(eventId, { cmd, shard, status: d.status, cart });
    const got = `${d.status}:${d.reason ?? ''}`;
    this.log.push(`  -> ${got}`);
    expect(got, `${type} ${eventId} of ${checkoutId} (hold ${before?.state ?? 'none'})`).toBe(want);
    this.note(`${type}${cart?.cross ? '(cross)' : ''}:${got}`);
    await this.step(`${type} ${eventId}`);
    return d.status;
  }

  /** Re-sends an inbound payload already decided: a duplicate that changes nothing. */
  async resend(i: number): Promise<void> {
    if (!this.inbound.length) return;
    const { shard, payload } = this.inbound[i % this.inbound.length]!;
    this.log.push(`@${this.now - T0} re-send ${payload} to ${shard}`);
    const d = ok((await this.gate(shard).decidePayloads(this.r, [payload], this.now))[0]);
    expect(d.status, `re-sent ${payload}`).toBe('duplicate');
    this.note('resend:duplicate');
    await this.step('re-send', { unchanged: true });
  }

  async expire(shard: string, limit: number): Promise<number> {
    this.log.push(`@${this.now - T0} expireDue ${shard} limit ${limit}`);
    const n = await this.gate(shard).expireDue(this.r, limit, this.now);
    this.log.push(`  -> ${n}`);
    await this.step(`expireDue ${shard}`);
    return n;
  }

  async expireAll(): Promise<void> {
    for (const s of this.shards) await this.expire(s, 1_000_000);
  }

  // ------------------------------------------------------------------ the relay

  /**
   * The outbox messages of `from` not acked yet (new ones are read into the group's pending
   * list first, as a relay lane does).
   */
  async pending(from: string): Promise<OutMsg[]> {
    const out = this.keys.shard(from).outbox;
    await this.r.xreadgroup('GROUP', GROUP, 'lane', 'COUNT', 1000, 'STREAMS', out, '>');
    const pend = (await this.r.xpending(out, GROUP, '-', '+', 1000)) as Array<
      [string, ...unknown[]]
    >;
    if (!pend.length) return [];
    const entries = await this.r.xrange(out, pend[0]![0], pend[pend.length - 1]![0]);
    const ids = new Set(pend.map((p) => p[0]));
    return entries
      .filter(([id]) => ids.has(id))
      .map(([id, kv]) => {
        const f: Record<string, string> = {};
        for (let i = 0; i < kv.length; i += 2) f[kv[i]!] = kv[i + 1]!;
        const m = f.m!;
        return { from, id, to: f.to!, m, type: (JSON.parse(m) as { t: string }).t };
      });
  }

  /** Every message not acked yet, over all shards. */
  async allPending(): Promise<OutMsg[]> {
    const all: OutMsg[] = [];
    for (const s of this.shards) all.push(...(await this.pending(s)));
    return all;
  }

  /**
   * What the home answers a part_result (decide_part_result in includes/saga.lua), from the
   * home hold before the call; records the answer when the home does.
   */
  private predictPartResult(m: string): string {
    const msg = JSON.parse(m) as { e: string; c: string; f: string; k: number; r?: string };
    const cur = this.cartOfCheckout.get(msg.c);
    const before = cur && this.last!.holds.get(cur.home)!.get(msg.c);
    // Another cart of the checkout (a replaced one's late answer), or this one decided.
    if (!before || before.state !== 'pending' || before.eventId !== msg.e) return 'part_ignored:';
    const got = this.answered.get(msg.e) ?? new Set<string>();
    this.answered.set(msg.e, got);
    if (got.has(msg.f)) return 'part_ignored:'; // a redelivered answer
    got.add(msg.f);
    if (msg.k !== 1) return `rejected:${msg.r ?? 'refused'}`;
    const parts = new Set(cur.lineShards.filter((s) => s !== cur.home));
    if (got.size < parts.size) return 'part_ok:';
    // The last answer: too late once the hold's deadline passed, even if the sweep has not run.
    return this.now >= before.expiresAt ? 'rejected:shard_timeout' : 'reserved:';
  }

  private async deliverOnce(msg: OutMsg): Promise<BatchDecision> {
    expect(this.keys.hasShard(msg.to), `outbox target ${msg.to}`).toBe(true);
    const want = msg.type === 'part_result' ? this.predictPartResult(msg.m) : undefined;
    const d = ok((await this.gate(msg.to).decidePayloads(this.r, [msg.m], this.now))[0]);
    this.log.push(`  -> ${d.status} ${d.reason ?? ''}`);
    if (want !== undefined)
      expect(
        `${d.status}:${d.reason ?? ''}`,
        `${msg.m} to ${msg.to}\n--- trace:\n${this.trace()}\n---`,
      ).toBe(want);
    this.note(`${msg.type}:${d.status}${d.reason ? `:${d.reason}` : ''}`);
    return d;
  }

  /**
   * One relay step on one message: `deliver` (copy + ack), `twice` (copied twice: a relay
   * killed after the copy, its successor copies again), `noAck` (copied, then the process is
   * killed before the ack: it stays pending and is delivered again later), `lost` (read, then
   * the process is killed before the copy: it stays pending).
   */
  async relay(msg: OutMsg, mode: RelayMode): Promise<void> {
    this.log.push(`@${this.now - T0} relay[${mode}] ${msg.from}→${msg.to} ${msg.id} ${msg.m}`);
    if (mode !== 'lost') {
      await this.deliverOnce(msg);
      this.relayed.push({ to: msg.to, m: msg.m });
      if (mode === 'twice') {
        await this.step(`relay ${msg.type} (first copy)`);
        await this.deliverOnce(msg);
      }
    }
    if (mode === 'deliver' || mode === 'twice') await this.ack(msg);
    await this.step(`relay ${msg.type} [${mode}]`, { unchanged: mode === 'lost' });
  }

  private async ack(msg: OutMsg): Promise<void> {
    const n = await this.r.xack(this.keys.shard(msg.from).outbox, GROUP, msg.id);
    this.acked.set(msg.from, this.acked.get(msg.from)! + n);
  }

  /** Re-delivers a message delivered before (a late duplicate): it changes nothing. */
  async replay(i: number): Promise<void> {
    if (!this.relayed.length) return;
    const { to, m } = this.relayed[i % this.relayed.length]!;
    this.log.push(`@${this.now - T0} re-deliver to ${to} ${m}`);
    await this.deliverOnce({ from: '?', id: '?', to, m, type: 'replay' });
    await this.step('re-deliver', { unchanged: true });
  }

  /**
   * Relays until every outbox is empty, in an order drawn from `seed` (each round delivers
   * every pending message once, shuffled). Returns how many messages were delivered.
   */
  async drain(seed: number): Promise<number> {
    let n = 0;
    let x = seed >>> 0 || 1;
    const rnd = (k: number) => {
      x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
      return x % k;
    };
    for (let round = 0; round < 50; round++) {
      const all = await this.allPending();
      if (!all.length) return n;
      for (let i = all.length - 1; i > 0; i--) {
        const j = rnd(i + 1);
        [all[i], all[j]] = [all[j]!, all[i]!];
      }
      for (const msg of all) {
        await this.relay(msg, 'deliver');
        n++;
      }
    }
    throw new Error('the outboxes never drained (a message loop?)');
  }

  // ------------------------------------------------------------------ checks

  /** Runs the checks after a step; `unchanged`: the step must not have moved anything. */
  async step(what: string, o: { unchanged?: boolean } = {}): Promise<Snapshot> {
    const prev = this.last;
    const snap = await this.check(what);
    if (o.unchanged && prev) {
      expect(snap.newOutcomes, `${what}: no outcome`).toBe(0);
      expect(snap.newLedger, `${what}: no ledger entry`).toBe(0);
      expect(snap.stock, `${what}: no counter moved`).toEqual(prev.stock);
    }
    this.last = snap;
    return snap;
  }

  /** Reads every shard and asserts the invariants of the file comment. */
  async check(what: string): Promise<Snapshot> {
    const ctx = `after ${what} @+${this.now - T0}\n--- trace:\n${this.trace()}\n---`;
    const snap: Snapshot = {
      stock: new Map(),
      holds: new Map(),
      parts: new Map(),
      inFlight: 0,
      newOutcomes: 0,
      newLedger: 0,
    };
    // Current carts have a home hold; a replaced one (its checkout reserved again) ended
    // `rejected` and its hash was replaced, but its parts are still accounted.
    const current = [...this.cartOfCheckout.values()];
    const carts = this.heldCarts;
    const usage = new Map<string, Map<string, Map<string, number>>>();
    for (const s of this.shards) {
      const sk = this.keys.shard(s);
      const skus = (await this.r.smembers(sk.skus)).sort();
      const homeCarts = current.filter((c) => c.home === s);
      const partCarts = carts.filter((c) => c.cross && c.home !== s && c.lineShards.includes(s));
      // One pipeline per shard: on a Redis Cluster its keys share the shard's slot.
      const p = this.r.pipeline();
      for (const sku of skus) p.hgetall(sk.stock(sku));
      for (const c of homeCarts) p.hmget(sk.hold(c.checkoutId), 'state', 'event_id', 'expires_at');
      for (const c of partCarts) p.hget(`${sk.prefix}part:${c.eventId}`, 'state');
      for (const u of USERS) p.hgetall(sk.usage(u));
      p.xlen(sk.outbox);
      const res = (await p.exec())!.map(([err, v]) => {
        if (err) throw err;
        return v;
      });
      let i = 0;
      const stock: StockMap = new Map();
      for (const sku of skus) {
        const h = res[i++] as Record<string, string>;
        stock.set(sku, {
          total: Number(h.total),
          available: Number(h.available),
          held: Number(h.held),
          sold: Number(h.sold),
          perUser: Number(h.per_user ?? 0),
        });
      }
      assertConservation(stock, `${s} ${ctx}`);
      snap.stock.set(s, stock);
      const holds = new Map<string, HoldSnap>();
      for (const c of homeCarts) {
        const [state, eventId, exp] = res[i++] as Array<string | null>;
        expect(state, `home hold of ${c.checkoutId} on ${s} exists ${ctx}`).toBeTruthy();
        expect(eventId, `home hold of ${c.checkoutId} is its cart's ${ctx}`).toBe(c.eventId);
        holds.set(c.checkoutId, { state: state!, eventId: eventId!, expiresAt: Number(exp) });
      }
      snap.holds.set(s, holds);
      const parts = new Map<string, string>();
      for (const c of partCarts) {
        const st = res[i++] as string | null;
        if (st) parts.set(c.eventId, st);
      }
      snap.parts.set(s, parts);
      const u = new Map<string, Map<string, number>>();
      for (const user of USERS) {
        const h = res[i++] as Record<string, string>;
        u.set(user, new Map(Object.entries(h).map(([k, v]) => [k, Number(v)])));
      }
      usage.set(s, u);
      snap.inFlight += (res[i++] as number) - this.acked.get(s)!;

      // Books: ledger sums = counters, change ids unique.
      const fresh = await xrangeAfter(this.r, sk.ledger, this.ledCursor.get(s));
      if (fresh.length) this.ledCursor.set(s, fresh[fresh.length - 1]!.id);
      snap.newLedger += fresh.length;
      const entries = fresh.map(parseLedger);
      for (const e of entries) {
        expect(
          this.changeIds.has(e.change_id),
          `ledger change_id ${e.change_id} unique ${ctx}`,
        ).toBe(false);
        this.changeIds.add(e.change_id);
      }
      const sums = applyDeltas(
        this.sums.get(s)!,
        entries.flatMap((e) => e.lines),
      );
      this.sums.set(s, sums);
      for (const [sku, c] of stock) {
        const l = sums.get(sku);
        expect(
          l && { total: l.total, available: l.available, held: l.held, sold: l.sold },
          `ledger of ${s} summed for ${sku} = its counters ${ctx}`,
        ).toEqual({ total: c.total, available: c.available, held: c.held, sold: c.sold });
      }
      expect([...sums.keys()].sort(), `SKUs in ${s}'s ledger ${ctx}`).toEqual(skus);

      // Outcomes: one per event, on the shard that decided it.
      const outs = await xrangeAfter(this.r, sk.outcomes, this.outCursor.get(s));
      if (outs.length) this.outCursor.set(s, outs[outs.length - 1]!.id);
      snap.newOutcomes += outs.length;
      for (const { f } of outs) {
        const id = f.event_id!;
        expect(this.outcomes.get(id), `a second outcome for ${id} ${ctx}`).toBeUndefined();
        this.outcomes.set(id, f);
        expect(f.shard, `outcome of ${id} names its shard`).toBe(s);
        if (f.type === 'reserve') {
          const c = this.carts.get(id);
          expect(c, `outcome of an unknown reserve ${id}`).toBeDefined();
          expect(c!.home, `outcome of ${id} on its home ${ctx}`).toBe(s);
          if (c!.first !== 'pending') expect(f.status).toBe(c!.first);
          if (f.status === 'reserved')
            expect(
              Number(f.expires_at),
              `${id} reserved with its deadline ahead of it ${ctx}`,
            ).toBeGreaterThan(Number(f.at));
          this.note(`outcome(${c!.cross ? 'cross' : 'single'}):${f.status}:${f.reason ?? ''}`);
        } else if (f.type === 'expire') {
          const cid = f.checkout_id!;
          expect(id.startsWith(`expired:${cid}:`), id).toBe(true);
          expect(this.cartOfCheckout.get(cid)?.home, `expiry of ${cid} on its home`).toBe(s);
          this.note(`expired(${this.cartOfCheckout.get(cid)!.cross ? 'cross' : 'single'})`);
        } else {
          const fu = this.followUps.get(id);
          expect(fu, `outcome of an unknown event ${id} ${ctx}`).toBeDefined();
          expect(fu!.shard).toBe(s);
          expect(f.status).toBe(fu!.status);
        }
      }
    }

    // Units are where the cart states say; all or nothing.
    const held = new Map<string, number>();
    const sold = new Map<string, number>();
    const used = new Map<string, number>();
    const add = (m: Map<string, number>, k: string, q: number) => m.set(k, (m.get(k) ?? 0) + q);
    for (const c of carts) {
      const replaced = this.cartOfCheckout.get(c.checkoutId) !== c;
      const home: HoldSnap = replaced
        ? { state: 'rejected', eventId: c.eventId, expiresAt: 0 }
        : snap.holds.get(c.home)!.get(c.checkoutId)!;
      const partState = (s: string) => snap.parts.get(s)!.get(c.eventId);
      const partShards = [...new Set(c.lineShards.filter((s) => s !== c.home))];
      const states = partShards.map(partState);
      const where = `cart ${c.eventId} (${c.checkoutId}) home ${c.home}=${home.state} parts ${JSON.stringify(Object.fromEntries(partShards.map((s, i) => [s, states[i] ?? 'none'])))} ${ctx}`;
      const expectStates = (allowed: Array<string | undefined>) => {
        for (const st of states) expect(allowed, where).toContain(st);
      };
      switch (home.state) {
        case 'pending':
          expectStates([undefined, 'held', 'refused']);
          break;
        case 'active':
          expectStates(['held']);
          break;
        case 'confirmed':
          expectStates(snap.inFlight ? ['held', 'sold'] : ['sold']);
          break;
        case 'cancelled':
        case 'expired':
          expectStates(snap.inFlight ? ['held', 'released'] : ['released']);
          break;
        case 'rejected':
          expectStates(
            snap.inFlight
              ? [undefined, 'held', 'refused', 'released']
              : [undefined, 'refused', 'released'],
          );
          break;
        default:
          throw new Error(`unexpected home state ${home.state} of ${where}`);
      }
      const out = this.outcomes.get(c.eventId);
      if (c.first === 'pending') {
        if (home.state === 'pending')
          expect(out, `no outcome while pending: ${where}`).toBeUndefined();
        else if (home.state === 'rejected') expect(out?.status, where).toBe('rejected');
        else expect(out?.status, where).toBe('reserved');
      }
      c.lines.forEach(([sku, q], i) => {
        const s = c.lineShards[i]!;
        const st = s === c.home ? home.state : partState(s);
        const k = `${s}\u0000${sku}`;
        const uk = `${s}\u0000${c.user}\u0000${sku}`;
        if (st === 'pending' || st === 'active' || st === 'held') {
          add(held, k, q);
          add(used, uk, q);
        } else if (st === 'confirmed' || st === 'sold') {
          add(sold, k, q);
          add(used, uk, q);
        }
      });
    }
    for (const c of this.carts.values()) {
      if (c.first === 'reserved' || c.first === 'rejected')
        expect(this.outcomes.get(c.eventId)?.status, `outcome of ${c.eventId} ${ctx}`).toBe(
          c.first,
        );
    }
    for (const [s, stock] of snap.stock) {
      for (const [sku, c] of stock) {
        const k = `${s}\u0000${sku}`;
        expect(
          { held: c.held, sold: c.sold },
          `${sku} on ${s}: held/sold = the carts' units in those states ${ctx}`,
        ).toEqual({ held: held.get(k) ?? 0, sold: sold.get(k) ?? 0 });
        for (const user of USERS) {
          const n = usage.get(s)!.get(user)!.get(sku) ?? 0;
          expect(n, `usage of ${user} on ${sku}@${s} ${ctx}`).toBe(
            used.get(`${s}\u0000${user}\u0000${sku}`) ?? 0,
          );
          if (c.perUser > 0)
            expect(n, `${user} within the per-user limit of ${sku} ${ctx}`).toBeLessThanOrEqual(
              c.perUser,
            );
        }
      }
    }
    return snap;
  }

  /**
   * The end: every message relayed and the clock past every deadline, swept on every shard
   * (repeated until nothing moves). Then: every reserve has exactly one outcome, nothing is
   * held anywhere, sold = the units of the confirmed carts' lines, usage = what each user bought.
   */
  async settle(drainFirst: boolean, seed: number): Promise<void> {
    this.log.push(`settle (drain ${drainFirst ? 'before' : 'after'} the clock jump)`);
    if (drainFirst) await this.drain(seed);
    // Past every deadline a hold or a pending cart can have (max total hold + part timeout).
    this.tick(this.cfg.holdMaxTotalSeconds * 1000 + (this.cfg.crossShardTimeoutMs ?? 10_000) + 1);
    for (let i = 0; i < 5; i++) {
      await this.expireAll();
      if ((await this.drain(seed + i)) === 0) break;
    }
    const snap = await this.step('settle');
    const ctx = `\n--- trace:\n${this.trace()}\n---`;
    expect(snap.inFlight, `nothing left to relay ${ctx}`).toBe(0);
    for (const s of this.shards)
      expect(await this.r.zcard(this.keys.shard(s).holdsDue), `holds:due of ${s} ${ctx}`).toBe(0);
    for (const c of this.carts.values())
      expect(this.outcomes.get(c.eventId)?.type, `the one outcome of ${c.eventId} ${ctx}`).toBe(
        'reserve',
      );
    const confirmed = [...this.followUps.values()].filter((f) => f.status === 'confirmed');
    const sold = new Map<string, number>();
    for (const f of confirmed) {
      const c = f.cart!;
      c.lines.forEach(([sku, q], i) => {
        const k = `${c.lineShards[i]}\u0000${sku}`;
        sold.set(k, (sold.get(k) ?? 0) + q);
      });
    }
    for (const [s, stock] of snap.stock)
      for (const [sku, c] of stock) {
        expect(c.held, `nothing stays held: ${sku} on ${s} ${ctx}`).toBe(0);
        expect(c.sold, `${sku} on ${s} sold = confirmed carts' units ${ctx}`).toBe(
          sold.get(`${s}\u0000${sku}`) ?? 0,
        );
      }
    for (const [s, holds] of snap.holds)
      for (const [cid, h] of holds)
        expect(['confirmed', 'cancelled', 'expired', 'rejected'], `${cid}@${s} ${ctx}`).toContain(
          h.state,
        );
    for (const parts of snap.parts.values())
      for (const [e, st] of parts) expect(st, `part of ${e} ${ctx}`).not.toBe('held');
  }
}

function ok(d: BatchDecision | Error | undefined): BatchDecision {
  if (d instanceof Error) throw d;
  expect(d).toBeDefined();
  return d!;
}
