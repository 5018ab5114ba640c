/**
 * Load for the chaos scenarios, with a record of everything sent: the independent checker
 * (checker.ts) accounts for every event id and entry id in this record.
 *
 * - Traffic: XADDs checkout events, admin events and raw (hostile) entries; an entry counts as
 *   sent once Redis returned its id ("accepted"). A send that fails (server down, connection
 *   cut, LOADING) is retried until accepted; a retried send of a checkout event may land twice,
 *   which the contract makes harmless (same event_id).
 * - Shoppers: reserves at a fixed rate from several producer connections, and follow-ups
 *   driven by the outcomes they observe (confirm / cancel / extend / abandon, a fixed spread
 *   over the checkout index), plus deliberate duplicate sends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export type CheckoutType = 'reserve' | 'confirm' | 'cancel' | 'extend';

export interface SentEvent {
  eventId: string;
  type: CheckoutType;
  checkoutId: string;
  userId?: string;
  /** reserve: [sku, qty] per line. */
  lines?: Array<[string, number]>;
  /** The exact field/value list XADDed (re-sends use it). */
  fields: string[];
  /** Entry ids Redis returned, one per accepted send. */
  ids: string[];
  firstSentAt: number;
}

export interface SentAdmin {
  eventId: string;
  type: 'restock' | 'set_limit';
  sku: string;
  qty?: number;
  perUser?: number;
  fields: string[];
  ids: string[];
}

/** An entry whose fate is "a dead letter, or an outcome if it happened to be valid". */
export interface RawSent {
  stream: string;
  id: string;
  /** The event_id field if it had a string one (to match an outcome). */
  eventId?: string;
  kind: string;
}

export interface Streams {
  events: string;
  admin: string;
  outcomes: string;
  dead: string;
}

export function streamsOf(namespace: string): Streams {
  return {
    events: `${namespace}checkout:events`,
    admin: `${namespace}inventory:admin`,
    // Contract v2: the shard's outcome stream (the chaos fleet runs the one shard, main).
    outcomes: `${namespace}checkout:outcomes:{main}`,
    dead: `${namespace}checkout:dead`,
  };
}

export function producerClient(url: string, name: string): Redis {
  const c = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (t) => Math.min(50 * t, 500),
    enableAutoPipelining: false,
  });
  c.on('error', () => {});
  return c;
}

interface SendRecord {
  events: Map<string, SentEvent>;
  abandoned: Map<string, SentEvent>;
  admin: Map<string, SentAdmin>;
  raw: RawSent[];
  retriedSends: number;
}

export class Traffic {
  readonly streams: Streams;
  private readonly rec: SendRecord;

  constructor(
    readonly redis: Redis,
    readonly namespace: string,
    shared?: Traffic,
  ) {
    this.streams = streamsOf(namespace);
    this.rec = shared?.rec ?? {
      events: new Map(),
      abandoned: new Map(),
      admin: new Map(),
      raw: [],
      retriedSends: 0,
    };
  }

  /** The same record, sent through another connection (parallel producers). */
  via(redis: Redis): Traffic {
    return new Traffic(redis, this.namespace, this);
  }

  get events(): Map<string, SentEvent> {
    return this.rec.events;
  }
  /** Events the producer gave up on (lost by a Redis crash and deliberately not re-sent). */
  get abandoned(): Map<string, SentEvent> {
    return this.rec.abandoned;
  }
  /** Moves events from `events` to `abandoned`: the checker no longer expects an outcome. */
  abandon(eventIds: Iterable<string>): void {
    for (const id of eventIds) {
      const e = this.rec.events.get(id);
      if (!e) continue;
      this.rec.events.delete(id);
      this.rec.abandoned.set(id, e);
    }
  }
  get admin(): Map<string, SentAdmin> {
    return this.rec.admin;
  }
  get raw(): RawSent[] {
    return this.rec.raw;
  }
  /** Sends that failed and were retried (server down, connection cut). */
  get retriedSends(): number {
    return this.rec.retriedSends;
  }

  /** XADDs many field lists in one pipeline; retries the failed ones; returns their ids. */
  private async xaddAll(
    stream: string,
    lists: Array<Array<string | Buffer>>,
    retryForMs = 120_000,
  ): Promise<string[]> {
    const ids: Array<string | undefined> = new Array(lists.length);
    let todo = lists.map((_, i) => i);
    const deadline = Date.now() + retryForMs;
    while (todo.length) {
      const p = this.redis.pipeline();
      for (const i of todo) p.xadd(stream, '*', ...(lists[i] as string[]));
      let res: Array<[Error | null, unknown]> | null = null;
      try {
        res = await p.exec();
      } catch {
        res = null;
      }
      const failed: number[] = [];
      todo.forEach((i, k) => {
        const r = res?.[k];
        if (r && !r[0] && typeof r[1] === 'string') ids[i] = r[1];
        else failed.push(i);
      });
      if (failed.length) {
        this.rec.retriedSends += failed.length;
        if (Date.now() > deadline) throw new Error(`XADD to ${stream} kept failing`);
        await sleep(100);
      }
      todo = failed;
    }
    return ids as string[];
  }

  /** Sends checkout events (a known event_id is sent again: a deliberate duplicate). */
  async send(
    evs: Array<Omit<SentEvent, 'ids' | 'firstSentAt' | 'fields'> & { holdSeconds?: number }>,
  ): Promise<void> {
    if (!evs.length) return;
    const lists = evs.map((e) => {
      const known = this.events.get(e.eventId);
      if (known) return known.fields;
      const f = ['type', e.type, 'event_id', e.eventId, 'checkout_id', e.checkoutId];
      if (e.type === 'reserve') {
        f.push('user_id', e.userId!);
        const lines = e.lines!;
        if (lines.length === 1) f.push('sku', lines[0]![0], 'qty', String(lines[0]![1]));
        else f.push('lines', JSON.stringify(lines.map(([sku, qty]) => ({ sku, qty }))));
      }
      if (e.holdSeconds !== undefined) f.push('hold_seconds', String(e.holdSeconds));
      return f;
    });
    const now = Date.now();
    evs.forEach((e, i) => {
      if (!this.events.has(e.eventId)) {
        const rec: SentEvent = {
          eventId: e.eventId,
          type: e.type,
          checkoutId: e.checkoutId,
          fields: lists[i]!,
          ids: [],
          firstSentAt: now,
        };
        if (e.userId !== undefined) rec.userId = e.userId;
        if (e.lines) rec.lines = e.lines;
        this.events.set(e.eventId, rec);
      }
    });
    const ids = await this.xaddAll(this.streams.events, lists);
    evs.forEach((e, i) => this.events.get(e.eventId)!.ids.push(ids[i]!));
  }

  /** Sends again, unchanged, events already sent (after a Redis crash lost them). */
  async resend(eventIds: string[]): Promise<void> {
    const evs = eventIds.map((id) => this.events.get(id)!).filter(Boolean);
    for (let i = 0; i < evs.length; i += 500) {
      const part = evs.slice(i, i + 500);
      const ids = await this.xaddAll(
        this.streams.events,
        part.map((e) => e.fields),
      );
      part.forEach((e, k) => e.ids.push(ids[k]!));
    }
  }

  async restock(
    sku: string,
    qty: number,
    eventId = `restock-${sku}-${this.admin.size}`,
  ): Promise<void> {
    await this.sendAdmin([{ eventId, type: 'restock', sku, qty }]);
  }

  async sendAdmin(list: Array<Omit<SentAdmin, 'ids' | 'fields'>>): Promise<void> {
    const lists = list.map((a) =>
      a.type === 'restock'
        ? ['type', 'restock', 'event_id', a.eventId, 'sku', a.sku, 'qty', String(a.qty)]
        : ['type', 'set_limit', 'event_id', a.eventId, 'sku', a.sku, 'per_user', String(a.perUser)],
    );
    list.forEach((a, i) => {
      if (!this.admin.has(a.eventId))
        this.admin.set(a.eventId, { ...a, fields: lists[i]!, ids: [] });
    });
    const ids = await this.xaddAll(this.streams.admin, lists);
    list.forEach((a, i) => this.admin.get(a.eventId)!.ids.push(ids[i]!));
  }

  /** Sends hostile entries (Buffer values allowed); each must end as a dead letter or an outcome. */
  async sendRaw(
    stream: string,
    entries: Array<{ fields: Array<string | Buffer>; kind: string }>,
  ): Promise<void> {
    for (let i = 0; i < entries.length; i += 200) {
      const part = entries.slice(i, i + 200);
      const ids = await this.xaddAll(
        stream,
        part.map((e) => e.fields),
      );
      part.forEach((e, k) => {
        const r: RawSent = { stream, id: ids[k]!, kind: e.kind };
        const ev = eventIdOf(e.fields);
        if (ev !== undefined) r.eventId = ev;
        this.raw.push(r);
      });
    }
  }
}

/** The event_id a validator would see: the first `event_id` field, as a UTF-8 string. */
function eventIdOf(fields: Array<string | Buffer>): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const k = fields[i]!;
    if ((typeof k === 'string' ? k : k.toString('utf8')) === 'event_id') {
      const v = fields[i + 1]!;
      return typeof v === 'string' ? v : v.toString('utf8');
    }
  }
  return undefined;
}

type XReadReply = Array<[string, Array<[string, string[]]>]> | null;

export type FollowUp = 'confirm' | 'cancel' | 'extend' | 'abandon';

/** A fixed spread over i (not random) so runs make the same choices. */
export function followUpOf(
  i: number,
  mix: { confirm: number; cancel: number; extend: number },
): FollowUp {
  const u = ((i * 2654435761) % 1000) / 1000;
  if (u < mix.confirm) return 'confirm';
  if (u < mix.confirm + mix.cancel) return 'cancel';
  if (u < mix.confirm + mix.cancel + mix.extend) return 'extend';
  return 'abandon';
}

export interface ShoppersOptions {
  redisUrl: string;
  traffic: Traffic;
  checkouts: number;
  ratePerSec: number;
  prefix: string;
  cart: (i: number) => Array<[string, number]>;
  users?: number;
  producers?: number;
  mix?: { confirm: number; cancel: number; extend: number };
  /** Share of reserves sent twice (same event_id). */
  duplicateRate?: number;
  /** hold_seconds for reserve i (undefined: the reserver's default). */
  holdSeconds?: (i: number) => number | undefined;
  chunk?: number;
}

export class Shoppers {
  /** Reserves sent so far. */
  sentReserves = 0;
  followUps = 0;
  private readonly followed = new Set<string>();
  private stopped = false;
  private readonly producers: Redis[];
  private readonly reader: Redis;
  private sending: Promise<void> | undefined;
  private following: Promise<void> | undefined;
  readonly startedAt = Date.now();
  lastSendAt = 0;

  constructor(readonly o: ShoppersOptions) {
    this.producers = Array.from({ length: o.producers ?? 2 }, (_, i) =>
      producerClient(o.redisUrl, `chaos-producer-${i}`),
    );
    this.reader = producerClient(o.redisUrl, 'chaos-follow-up');
  }

  start(): this {
    this.following = this.follow();
    this.sending = this.send();
    return this;
  }

  /** Resolves once every reserve was sent (accepted). */
  sent(): Promise<void> {
    return this.sending!;
  }

  private async send(): Promise<void> {
    const o = this.o;
    const chunk = o.chunk ?? 25;
    const users = o.users ?? o.checkouts;
    let next = 0;
    const t0 = Date.now();
    await Promise.all(
      this.producers.map(async (r) => {
        const t = o.traffic.via(r);
        while (next < o.checkouts && !this.stopped) {
          const from = next;
          const to = Math.min(o.checkouts, from + chunk);
          next = to;
          const due = t0 + (from / o.ratePerSec) * 1000;
          if (due > Date.now()) await sleep(due - Date.now());
          const evs = [];
          for (let i = from; i < to; i++) {
            const hs = o.holdSeconds?.(i);
            const e = {
              type: 'reserve' as const,
              eventId: `${o.prefix}r${i}`,
              checkoutId: `${o.prefix}c${i}`,
              userId: `${o.prefix}u${i % users}`,
              lines: o.cart(i),
              ...(hs !== undefined ? { holdSeconds: hs } : {}),
            };
            evs.push(e);
            if (o.duplicateRate && ((i * 7919) % 1000) / 1000 < o.duplicateRate) evs.push(e);
          }
          await t.send(evs);
          this.sentReserves += to - from;
          this.lastSendAt = Date.now();
        }
      }),
    );
  }

  private async follow(): Promise<void> {
    const o = this.o;
    const mix = o.mix ?? { confirm: 0.5, cancel: 0.2, extend: 0.1 };
    const rPrefix = `${o.prefix}r`;
    const t = o.traffic.via(this.producers[0]!);
    let cursor = '0-0';
    while (!this.stopped) {
      let res: XReadReply;
      try {
        res = (await this.reader.xread(
          'COUNT',
          1000,
          'BLOCK',
          300,
          'STREAMS',
          o.traffic.streams.outcomes,
          cursor,
        )) as XReadReply;
      } catch {
        await sleep(100);
        continue;
      }
      if (!res) continue;
      const evs: Parameters<Traffic['send']>[0] = [];
      for (const [id, flat] of res[0]![1]) {
        cursor = id;
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
        const ev = f.event_id ?? '';
        if (!ev.startsWith(rPrefix) || f.status !== 'reserved' || this.followed.has(ev)) continue;
        this.followed.add(ev);
        const i = Number(ev.slice(rPrefix.length));
        const d = followUpOf(i, mix);
        if (d === 'abandon') continue;
        const cid = f.checkout_id!;
        if (d === 'extend') {
          evs.push({
            type: 'extend',
            eventId: `${o.prefix}e${i}`,
            checkoutId: cid,
            holdSeconds: 2,
          });
        } else {
          evs.push({
            type: d,
            eventId: `${o.prefix}${d === 'confirm' ? 'k' : 'x'}${i}`,
            checkoutId: cid,
          });
        }
      }
      if (evs.length) {
        await t.send(evs);
        this.followUps += evs.length;
        this.lastSendAt = Date.now();
      }
    }
  }

  /** Stops sending and following up; closes the connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([this.sending, this.following]);
    for (const r of this.producers) r.disconnect();
    this.reader.disconnect();
  }
}
