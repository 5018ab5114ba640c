/**
 * Test harness for the Lua decision scripts, against a real Redis (no mocks).
 *
 * `Harness` wraps a `Gate` and, around every call, checks what the contract and
 * docs/architecture.md promise:
 *   - conservation for every SKU (available + held + sold = total, available ≥ 0,
 *     held + sold ≤ total) — after EVERY call;
 *   - exactly one `checkout:outcomes:{shard}` entry per decided event (fields in contract order,
 *     `reason` only when rejected, `expires_at` only for active holds), none for duplicates
 *     and admin events;
 *   - exactly one ledger entry per state change (none for rejections / duplicates), with the
 *     documented deltas, and the counters moved by exactly those deltas;
 *   - the whole ledger summed per SKU equals the SKU counters (restocks included).
 *
 * The records it reads and the checks it asserts live in ./stock.ts and ./stream-entries.ts;
 * ./file-env.ts opens harnesses per test file.
 */
import { expect } from 'vitest';
import type { ChainableCommander, Redis } from 'ioredis';
import {
  Gate,
  Keys,
  createRedis,
  type AdminCommand,
  type CheckoutCommand,
  type Decision,
  type GateConfig,
  type ShardKeys,
} from '@holdfast/shared';
import { CFG } from './config.js';
import {
  applyDeltas,
  assertConservation,
  readShardCounters,
  type Counters,
  type Delta,
  type StockMap,
} from './stock.js';
import { parseLedger, xrangeAfter, type Entry, type LedgerEntry } from './stream-entries.js';
import { assertHoldsAgree, stripTtl, toHoldView, type HoldView } from './holds.js';

const OUTCOME_STATUS: Record<CheckoutCommand['type'], string> = {
  reserve: 'reserved',
  confirm: 'confirmed',
  cancel: 'cancelled',
  extend: 'extended',
};

export interface ExpireResult {
  count: number;
  expired: Array<{ checkoutId: string; eventId: string }>;
}

export interface HarnessOptions {
  /**
   * True (default) when no finished hold can have vanished by TTL during the test, so `sold`
   * and per-user usage can be recomputed exactly from the hold hashes.
   */
  finishedHoldsKept?: boolean;
}

export class Harness {
  readonly keys: Keys;
  readonly sk: ShardKeys;
  readonly gate: Gate;
  private outCursor: string | undefined;
  private ledCursor: string | undefined;
  /**
   * Every checkout id, user and SKU name this harness has sent. The structural checks read
   * exactly these keys: the test Redis is shared and may hold many other keys, so a SCAN over
   * the keyspace per check would be far too slow.
   */
  readonly seenCheckouts = new Set<string>();
  readonly seenUsers = new Set<string>();
  readonly seenSkus = new Set<string>();

  constructor(
    readonly r: Redis,
    namespace: string,
    readonly cfg: GateConfig = CFG,
    private readonly opts: HarnessOptions = {},
  ) {
    this.keys = new Keys(namespace, 'main');
    this.sk = this.keys.shard();
    this.gate = new Gate(this.keys, cfg);
  }

  static open(
    redisUrl: string,
    namespace: string,
    cfg: GateConfig = CFG,
    opts: HarnessOptions = {},
  ): Harness {
    return new Harness(createRedis(redisUrl, { name: 'hf-test-harness' }), namespace, cfg, opts);
  }

  close(): void {
    this.r.disconnect();
  }

  /** Records the names a command touches (see seenCheckouts). */
  track(cmd: CheckoutCommand | AdminCommand): void {
    if (cmd.type === 'restock' || cmd.type === 'set_limit') {
      this.seenSkus.add(cmd.sku);
      return;
    }
    this.seenCheckouts.add(cmd.checkoutId);
    if (cmd.type === 'reserve') {
      this.seenUsers.add(cmd.userId);
      for (const [sku] of cmd.lines) this.seenSkus.add(sku);
    }
  }

  /** Gate.queue, tracked: for tests that pipeline commands themselves. */
  queue(p: ChainableCommander, cmd: CheckoutCommand, now: number): ChainableCommander {
    this.track(cmd);
    return this.gate.queue(p, cmd, now);
  }

  /** Gate.queueAdmin, tracked. */
  queueAdmin(p: ChainableCommander, cmd: AdminCommand, now: number): ChainableCommander {
    this.track(cmd);
    return this.gate.queueAdmin(p, cmd, now);
  }

  // ---------------------------------------------------------------- reads

  stockAll(): Promise<StockMap> {
    return readShardCounters(this.r, this.keys);
  }

  async stock(sku: string): Promise<Counters | undefined> {
    return (await this.stockAll()).get(sku);
  }

  /** Reads the stock and asserts conservation for every SKU. */
  async checkConservation(ctx = ''): Promise<StockMap> {
    const s = await this.stockAll();
    assertConservation(s, ctx);
    return s;
  }

  /** Outcome entries appended since the previous call. */
  async newOutcomes(): Promise<Entry[]> {
    const e = await xrangeAfter(this.r, this.keys.shard().outcomes, this.outCursor);
    if (e.length) this.outCursor = e[e.length - 1]!.id;
    return e;
  }

  /** Ledger entries appended since the previous call. */
  async newLedger(): Promise<LedgerEntry[]> {
    const e = await xrangeAfter(this.r, this.sk.ledger, this.ledCursor);
    if (e.length) this.ledCursor = e[e.length - 1]!.id;
    return e.map(parseLedger);
  }

  async allOutcomes(): Promise<Entry[]> {
    return xrangeAfter(this.r, this.keys.shard().outcomes, undefined);
  }

  async allLedger(): Promise<LedgerEntry[]> {
    return (await xrangeAfter(this.r, this.sk.ledger, undefined)).map(parseLedger);
  }

  async hold(checkoutId: string): Promise<HoldView | undefined> {
    const [h, pttl] = await Promise.all([
      this.r.hgetall(this.sk.hold(checkoutId)),
      this.r.pttl(this.sk.hold(checkoutId)),
    ]);
    return toHoldView(checkoutId, h, pttl);
  }

  async due(): Promise<Map<string, number>> {
    const raw = await this.r.zrange(this.sk.holdsDue, 0, -1, 'WITHSCORES');
    const m = new Map<string, number>();
    for (let i = 0; i < raw.length; i += 2) m.set(raw[i]!, Number(raw[i + 1]));
    return m;
  }

  async usage(user: string, sku: string): Promise<number> {
    return Number((await this.r.hget(this.sk.usage(user), sku)) ?? 0);
  }

  /** Every hold hash of the checkouts this harness has seen or that is in holds:due. */
  async allHolds(): Promise<Map<string, HoldView>> {
    const cids = new Set([
      ...this.seenCheckouts,
      ...(await this.r.zrange(this.sk.holdsDue, 0, -1)),
    ]);
    const list = [...cids];
    const p = this.r.pipeline();
    for (const cid of list) p.hgetall(this.sk.hold(cid)).pttl(this.sk.hold(cid));
    const res = (await p.exec()) ?? [];
    const out = new Map<string, HoldView>();
    list.forEach((cid, i) => {
      const v = toHoldView(
        cid,
        res[2 * i]![1] as Record<string, string>,
        res[2 * i + 1]![1] as number,
      );
      if (v) out.set(cid, v);
    });
    return out;
  }

  /** Usage hashes of every user this harness has seen (and of every hold's user). */
  async allUsage(
    users: Iterable<string> = this.seenUsers,
  ): Promise<Map<string, Map<string, number>>> {
    const list = [...new Set(users)];
    const p = this.r.pipeline();
    for (const u of list) p.hgetall(this.sk.usage(u));
    const res = (await p.exec()) ?? [];
    const out = new Map<string, Map<string, number>>();
    list.forEach((u, i) => {
      const h = res[i]![1] as Record<string, string>;
      out.set(u, new Map(Object.entries(h).map(([s, v]) => [s, Number(v)])));
    });
    return out;
  }

  /** Names (of the SKUs seen) that have a stock hash. */
  async existingStockKeys(): Promise<string[]> {
    const list = [...new Set([...this.seenSkus, ...(await this.r.smembers(this.sk.skus))])];
    const p = this.r.pipeline();
    for (const s of list) p.exists(this.sk.stock(s));
    const res = (await p.exec()) ?? [];
    return list.filter((_, i) => res[i]![1] === 1).sort();
  }

  // ---------------------------------------------------------------- global invariants

  private sumCursor: string | undefined;
  private sums: StockMap = new Map();
  private readonly changeIds = new Set<string>();

  /**
   * The whole ledger, summed per SKU, equals the SKU counters; change ids are unique. The sum
   * is kept incrementally (each entry is read once), so calling this after every step is cheap.
   */
  async checkLedgerSums(stock?: StockMap): Promise<void> {
    const [s, fresh] = await Promise.all([
      stock ?? this.stockAll(),
      xrangeAfter(this.r, this.sk.ledger, this.sumCursor),
    ]);
    if (fresh.length) this.sumCursor = fresh[fresh.length - 1]!.id;
    const entries = fresh.map(parseLedger);
    for (const e of entries) {
      expect(this.changeIds.has(e.change_id), `ledger change_id ${e.change_id} is unique`).toBe(
        false,
      );
      this.changeIds.add(e.change_id);
    }
    this.sums = applyDeltas(
      this.sums,
      entries.flatMap((e) => e.lines),
    );
    const sums = this.sums;
    expect([...sums.keys()].sort(), 'SKUs in the ledger = SKUs in Redis').toEqual(
      [...s.keys()].sort(),
    );
    for (const [sku, c] of s) {
      const l = sums.get(sku)!;
      expect(
        { total: l.total, available: l.available, held: l.held, sold: l.sold },
        `ledger sums of ${sku} equal its counters`,
      ).toEqual({ total: c.total, available: c.available, held: c.held, sold: c.sold });
    }
  }

  /**
   * Structural consistency: holds:due is exactly the active holds (scored by deadline), held
   * per SKU is the sum of active holds, sold the sum of confirmed ones, usage per user the sum
   * of the user's active + confirmed holds; stock keys = the skus set.
   */
  async checkHolds(stock?: StockMap): Promise<Map<string, HoldView>> {
    const s = stock ?? (await this.stockAll());
    const [holds, due, stockKeys] = await Promise.all([
      this.allHolds(),
      this.due(),
      this.existingStockKeys(),
    ]);
    const usage = await this.allUsage([
      ...this.seenUsers,
      ...[...holds.values()].map((x) => x.user),
    ]);
    expect(stockKeys, 'stock hashes = skus set').toEqual([...s.keys()]);
    assertHoldsAgree(s, holds, due, usage, {
      finishedHoldTtlMs: this.cfg.finishedHoldTtlSeconds * 1000,
      finishedHoldsKept: this.opts.finishedHoldsKept !== false,
    });
    return holds;
  }

  /** Every outcome event_id is distinct (exactly one entry per decided event). */
  async checkOutcomesUnique(): Promise<void> {
    const fresh = await xrangeAfter(this.r, this.keys.shard().outcomes, this.uniqCursor);
    if (fresh.length) this.uniqCursor = fresh[fresh.length - 1]!.id;
    for (const e of fresh) {
      const id = e.f.event_id!;
      expect(this.outcomeIds.has(id), `one outcome per event_id (${id})`).toBe(false);
      this.outcomeIds.add(id);
    }
  }

  private uniqCursor: string | undefined;
  private readonly outcomeIds = new Set<string>();

  async checkAll(ctx = ''): Promise<StockMap> {
    const s = await this.checkConservation(ctx);
    await Promise.all([this.checkLedgerSums(s), this.checkHolds(s), this.checkOutcomesUnique()]);
    return s;
  }

  // ---------------------------------------------------------------- verified calls

  /**
   * Runs one checkout decision through Gate.decide and verifies its outcome entry, its ledger
   * entry (deltas), the counter change, the hold hash / holds:due change, and conservation.
   */
  async decide(cmd: CheckoutCommand, now: number, via: Redis = this.r): Promise<Decision> {
    const ctx = `${cmd.type} ${cmd.eventId} ${cmd.checkoutId} @${now}`;
    this.track(cmd);
    const [before, holdBefore, dueBefore] = await Promise.all([
      this.stockAll(),
      this.hold(cmd.checkoutId),
      this.r.zscore(this.sk.holdsDue, cmd.checkoutId),
      this.newOutcomes(),
      this.newLedger(),
    ]);

    const d = await this.gate.decide(via, cmd, now);

    const [after, outs, leds, holdAfter, dueAfter] = await Promise.all([
      this.checkConservation(ctx),
      this.newOutcomes(),
      this.newLedger(),
      this.hold(cmd.checkoutId),
      this.r.zscore(this.sk.holdsDue, cmd.checkoutId),
    ]);

    if (d.status === 'duplicate' || d.status === 'rejected') {
      expect(leds, `${ctx}: no ledger entry for ${d.status}`).toEqual([]);
      expect(after, `${ctx}: counters unchanged`).toEqual(before);
      expect(stripTtl(holdAfter), `${ctx}: hold unchanged`).toEqual(stripTtl(holdBefore));
      expect(dueAfter, `${ctx}: deadline unchanged`).toBe(dueBefore);
      expect(d.expiresAt).toBeUndefined();
      if (d.status === 'duplicate') {
        expect(d.reason).toBeUndefined();
        expect(outs, `${ctx}: no outcome for a duplicate`).toEqual([]);
      } else {
        expect(d.reason, `${ctx}: rejection has a reason`).toBeTruthy();
        expect(outs.map((o) => o.names)).toEqual([
          ['event_id', 'checkout_id', 'type', 'status', 'reason', 'shard', 'at'],
        ]);
        expect(outs[0]!.f).toEqual({
          event_id: cmd.eventId,
          checkout_id: cmd.checkoutId,
          type: cmd.type,
          status: 'rejected',
          reason: d.reason,
          shard: this.sk.shard,
          at: String(now),
        });
      }
    } else {
      expect(d.status, ctx).toBe(OUTCOME_STATUS[cmd.type]);
      expect(d.reason).toBeUndefined();
      const outcome: Record<string, string> = {
        event_id: cmd.eventId,
        checkout_id: cmd.checkoutId,
        type: cmd.type,
        status: d.status,
      };
      if (cmd.type === 'reserve' || cmd.type === 'extend') {
        expect(d.expiresAt, `${ctx}: active hold has expires_at`).toBeGreaterThan(now);
        outcome.expires_at = String(d.expiresAt);
      } else {
        expect(d.expiresAt).toBeUndefined();
      }
      outcome.shard = this.sk.shard;
      outcome.at = String(now);
      expect(
        outs.map((o) => o.names),
        `${ctx}: one outcome`,
      ).toEqual([Object.keys(outcome)]);
      expect(outs[0]!.f).toEqual(outcome);

      const lines: Array<[string, number]> = cmd.type === 'reserve' ? cmd.lines : holdBefore!.lines;
      const deltas: Delta[] = lines.map(([s, q]): Delta => {
        switch (cmd.type) {
          case 'reserve':
            return [s, 0, -q, q, 0];
          case 'confirm':
            return [s, 0, 0, -q, q];
          case 'cancel':
            return [s, 0, q, -q, 0];
          case 'extend':
            return [s, 0, 0, 0, 0];
        }
      });
      expect(leds, `${ctx}: one ledger entry`).toEqual([
        {
          change_id: `${cmd.type}:${cmd.eventId}`,
          kind: cmd.type,
          event_id: cmd.eventId,
          checkout_id: cmd.checkoutId,
          at: String(now),
          lines: deltas,
        },
      ]);
      expect(after, `${ctx}: counters moved by the ledger deltas`).toEqual(
        applyDeltas(before, deltas),
      );

      switch (cmd.type) {
        case 'reserve':
          expect(holdBefore, `${ctx}: no hold before`).toBeUndefined();
          expect(holdAfter).toMatchObject({
            state: 'active',
            user: cmd.userId,
            lines: cmd.lines,
            expiresAt: d.expiresAt,
            createdAt: now,
            maxUntil: now + this.cfg.holdMaxTotalSeconds * 1000,
            eventId: cmd.eventId,
            pttl: -1,
          });
          expect(dueAfter).toBe(String(d.expiresAt));
          break;
        case 'confirm':
        case 'cancel':
          expect(holdBefore?.state).toBe('active');
          expect(holdAfter).toMatchObject({
            ...stripTtl(holdBefore),
            state: cmd.type === 'confirm' ? 'confirmed' : 'cancelled',
          });
          expect(holdAfter!.pttl).toBeGreaterThan(0);
          expect(dueAfter).toBeNull();
          break;
        case 'extend':
          expect(holdBefore?.state).toBe('active');
          expect(holdAfter).toMatchObject({ ...stripTtl(holdBefore), expiresAt: d.expiresAt });
          expect(d.expiresAt!).toBeGreaterThanOrEqual(holdBefore!.expiresAt);
          expect(d.expiresAt!).toBeLessThanOrEqual(holdBefore!.maxUntil);
          expect(dueAfter).toBe(String(d.expiresAt));
          break;
      }
    }
    await this.checkLedgerSums(after);
    return d;
  }

  /** Runs one admin command and verifies: no outcome, one ledger entry unless duplicate. */
  async admin(cmd: AdminCommand, now: number): Promise<string> {
    const ctx = `${cmd.type} ${cmd.eventId} ${cmd.sku} @${now}`;
    this.track(cmd);
    const [before] = await Promise.all([this.stockAll(), this.newOutcomes(), this.newLedger()]);

    const status = await this.gate.admin(this.r, cmd, now);

    const [after, outs, leds] = await Promise.all([
      this.checkConservation(ctx),
      this.newOutcomes(),
      this.newLedger(),
    ]);
    expect(outs, `${ctx}: admin events write no outcome`).toEqual([]);
    if (status === 'duplicate') {
      expect(leds, `${ctx}: no ledger entry for a duplicate`).toEqual([]);
      expect(after).toEqual(before);
    } else if (cmd.type === 'restock') {
      expect(status).toBe('restocked');
      const deltas: Delta[] = [[cmd.sku, cmd.qty, cmd.qty, 0, 0]];
      expect(leds).toEqual([
        {
          change_id: `restock:${cmd.eventId}`,
          kind: 'restock',
          event_id: cmd.eventId,
          checkout_id: '',
          at: String(now),
          lines: deltas,
        },
      ]);
      expect(after).toEqual(applyDeltas(before, deltas));
    } else {
      expect(status).toBe('limit_set');
      expect(leds).toEqual([
        {
          change_id: `set_limit:${cmd.eventId}`,
          kind: 'set_limit',
          event_id: cmd.eventId,
          checkout_id: '',
          at: String(now),
          lines: [[cmd.sku, 0, 0, 0, 0]],
          per_user: String(cmd.perUser),
        },
      ]);
      const expected = applyDeltas(before, [[cmd.sku, 0, 0, 0, 0]]);
      expected.get(cmd.sku)!.perUser = cmd.perUser;
      expect(after).toEqual(expected);
    }
    await this.checkLedgerSums(after);
    return status;
  }

  /**
   * Runs expireDue and verifies it released exactly the active holds due at `now` (in deadline
   * order, at most `limit`), each with one `expired` outcome and one `expire` ledger entry.
   */
  async expireDue(now: number, limit = 10_000, via: Redis = this.r): Promise<ExpireResult> {
    const ctx = `expireDue @${now} limit ${limit}`;
    const [before, dueIds] = await Promise.all([
      this.stockAll(),
      this.r.zrangebyscore(this.sk.holdsDue, '-inf', now, 'LIMIT', 0, limit),
      this.newOutcomes(),
      this.newLedger(),
    ]);
    const holdsBefore = new Map<string, HoldView>();
    const hs = await Promise.all(dueIds.map((cid) => this.hold(cid)));
    dueIds.forEach((cid, i) => {
      const h = hs[i];
      expect(h?.state, `${ctx}: due member ${cid} is active`).toBe('active');
      expect(h!.expiresAt).toBeLessThanOrEqual(now);
      holdsBefore.set(cid, h!);
    });

    const count = await this.gate.expireDue(via, limit, now);

    const [after, outs, leds] = await Promise.all([
      this.checkConservation(ctx),
      this.newOutcomes(),
      this.newLedger(),
    ]);
    expect(count, `${ctx}: expired count`).toBe(dueIds.length);
    const expired = dueIds.map((cid) => ({
      checkoutId: cid,
      eventId: `expired:${cid}:${holdsBefore.get(cid)!.n}`,
    }));
    expect(outs.map((o) => o.names)).toEqual(
      expired.map(() => ['event_id', 'checkout_id', 'type', 'status', 'shard', 'at']),
    );
    expect(outs.map((o) => o.f)).toEqual(
      expired.map((e) => ({
        event_id: e.eventId,
        checkout_id: e.checkoutId,
        type: 'expire',
        status: 'expired',
        shard: this.sk.shard,
        at: String(now),
      })),
    );
    const allDeltas: Delta[] = [];
    expect(leds).toEqual(
      expired.map((e) => {
        const h = holdsBefore.get(e.checkoutId)!;
        const lines = h.lines.map(([s, q]): Delta => [s, 0, q, -q, 0]);
        allDeltas.push(...lines);
        return {
          change_id: `expire:${e.checkoutId}:${h.n}`,
          kind: 'expire',
          event_id: e.eventId,
          checkout_id: e.checkoutId,
          at: String(now),
          lines,
        };
      }),
    );
    expect(after, `${ctx}: counters moved by the ledger deltas`).toEqual(
      applyDeltas(before, allDeltas),
    );
    const [hsAfter, scores] = await Promise.all([
      Promise.all(dueIds.map((cid) => this.hold(cid))),
      Promise.all(dueIds.map((cid) => this.r.zscore(this.sk.holdsDue, cid))),
    ]);
    dueIds.forEach((cid, i) => {
      expect(hsAfter[i]).toMatchObject({ ...stripTtl(holdsBefore.get(cid)), state: 'expired' });
      expect(hsAfter[i]!.pttl).toBeGreaterThan(0);
      expect(scores[i]).toBeNull();
    });
    await this.checkLedgerSums(after);
    return { count, expired };
  }
}
