/**
 * The independent checker: accounts for every event id and entry id the test sent, across
 * checkout:outcomes:{shard}, checkout:dead, Redis state (stock counters, holds, consumer groups) and
 * the MySQL books (inventory_ledger rows by change_id, inventory_stock).
 *
 * It shares no code with the services: Redis names come from docs/architecture.md, the ledger's
 * change ids and deltas from the contract's semantics, and the expected books are rebuilt here
 * from what was sent and what the outcomes say:
 *
 *   reserve  → reserved   change reserve:<event_id>       per line [sku, 0, -q, +q,  0]
 *   confirm  → confirmed  change confirm:<event_id>       the hold's lines [0, 0, -q, +q]
 *   cancel   → cancelled  change cancel:<event_id>        the hold's lines [0, +q, -q, 0]
 *   extend   → extended   change extend:<event_id>        the hold's lines, zero deltas
 *   (fleet)  → expired    change expire:<checkout>:<n>     (outcome event_id expired:<checkout>:<n>)
 *   restock               change restock:<event_id>       [sku, +q, +q, 0, 0]
 *   set_limit             change set_limit:<event_id>     [sku, 0, 0, 0, 0]
 *
 * Categories (each a list of examples; the counts go in the results table):
 *   lost       accepted (Redis returned an entry id) and no outcome nor dead letter; or an
 *              expected change missing from MySQL
 *   doubled    two outcomes for an event id, two dead letters for an entry, a hold released
 *              twice, two ledger rows for one (change, SKU)
 *   unexpected an outcome / dead letter / ledger row nothing that was sent explains
 *   oversold   invariant 1 or 2 broken in Redis or MySQL
 *   mismatch   Redis counters ≠ the rebuilt books, MySQL stock ≠ Σ ledger deltas, MySQL ≠ Redis
 */
import type { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import type { Traffic } from './load.js';

export type Counters = [total: number, available: number, held: number, sold: number];

export interface CheckOptions {
  redis: Redis;
  mysqlUrl: string;
  namespace: string;
  shard?: string;
  traffic: Traffic;
  /**
   * Redis crash: Redis can lose its last ~second of writes, while MySQL already has some of
   * them. Ledger rows of such lost decisions (at_ms inside this window) are counted in
   * `crashWindowRows` instead of `unexpected`; changes MySQL refused afterwards (dead-lettered
   * as ledger incidents) in `refused` instead of `lost`.
   */
  crashWindows?: Array<{ fromMs: number; toMs: number }>;
  /** `compensate:` rows are expected (holdfast reconcile --compensate). */
  allowCompensate?: boolean;
  /** An expiry later than deadline + this counts in lateExpiries (invariant 5). */
  expiryToleranceMs?: number;
}

export interface CheckResult {
  sent: number;
  sentEvents: number;
  sentAdmin: number;
  sentRaw: number;
  outcomes: number;
  deadLetters: number;
  ledgerRows: number;
  ledgerChanges: number;
  expectedChanges: number;
  byStatus: Record<string, number>;
  lost: string[];
  doubled: string[];
  unexpected: string[];
  oversold: string[];
  mismatch: string[];
  /** Valid events that ended as dead letters (no outcome). */
  deadValid: string[];
  /** Hold state in Redis that disagrees with the outcomes. */
  holds: string[];
  /** Entries still pending / undelivered in some group. */
  pending: string[];
  lateExpiries: string[];
  maxExpiryDelayMs: number;
  crashWindowRows: string[];
  refused: string[];
  compensations: number;
  redisStock: Map<string, Counters>;
  mysqlStock: Map<string, Counters>;
}

const zero = (): Counters => [0, 0, 0, 0];
const add = (m: Map<string, Counters>, sku: string, d: readonly number[]) => {
  const c = m.get(sku) ?? zero();
  m.set(sku, [c[0] + d[0]!, c[1] + d[1]!, c[2] + d[2]!, c[3] + d[3]!]);
};
const eq = (a: Counters | undefined, b: Counters | undefined) => {
  const x = a ?? zero();
  const y = b ?? zero();
  return x.every((v, i) => v === y[i]);
};

type Fields = Record<string, string>;

export async function readAll(
  redis: Redis,
  stream: string,
): Promise<Array<{ id: string; f: Fields }>> {
  const out: Array<{ id: string; f: Fields }> = [];
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(stream, start, '+', 'COUNT', 5000)) as Array<
      [string, string[]]
    >;
    for (const [id, flat] of page) {
      const f: Fields = {};
      // First occurrence wins for our own bookkeeping fields; dead letters never repeat them.
      for (let i = 0; i + 1 < flat.length; i += 2) if (!(flat[i]! in f)) f[flat[i]!] = flat[i + 1]!;
      out.push({ id, f });
    }
    if (page.length < 5000) return out;
    start = `(${page[page.length - 1]![0]}`;
  }
}

export function names(namespace: string, shard = 'main') {
  const s = `${namespace}hf:{${shard}}:`;
  return {
    events: `${namespace}checkout:events`,
    admin: `${namespace}inventory:admin`,
    outcomes: `${namespace}checkout:outcomes:{${shard}}`,
    dead: `${namespace}checkout:dead`,
    audit: `${namespace}holdfast:audit`,
    inbound: `${s}in`,
    ledger: `${s}ledger`,
    /** Saga messages to other shards (carts across shards), read by the reserver's relay. */
    outbox: `${s}out`,
    skus: `${s}skus`,
    holdsDue: `${s}holds:due`,
    stock: (sku: string) => `${s}stock:${sku}`,
    hold: (cid: string) => `${s}hold:${cid}`,
  };
}

/** Every SKU's counters in Redis (each SKU read atomically with one HMGET). */
export async function redisStock(
  redis: Redis,
  namespace: string,
  shard = 'main',
): Promise<Map<string, Counters>> {
  const n = names(namespace, shard);
  const skus = await redis.smembers(n.skus);
  const p = redis.pipeline();
  for (const sku of skus) p.hmget(n.stock(sku), 'total', 'available', 'held', 'sold');
  const res = (await p.exec()) ?? [];
  const m = new Map<string, Counters>();
  skus.forEach((sku, i) => {
    const v = (res[i]?.[1] as Array<string | null>) ?? [];
    m.set(sku, v.map((x) => Number(x ?? 0)) as Counters);
  });
  return m;
}

/** Every shard's SKU counters in one map (a SKU lives on one shard). */
export async function allShardsStock(
  redis: Redis,
  namespace: string,
  shards: readonly string[],
): Promise<Map<string, Counters>> {
  const m = new Map<string, Counters>();
  for (const s of shards) for (const [k, v] of await redisStock(redis, namespace, s)) m.set(k, v);
  return m;
}

export async function mysqlStock(mysqlUrl: string): Promise<Map<string, Counters>> {
  const c = await createConnection(mysqlUrl);
  try {
    const [rows] = (await c.query(
      'SELECT sku, total, available, held, sold FROM inventory_stock',
    )) as unknown as [Array<Record<string, unknown>>];
    return new Map(
      rows.map((r) => [
        String(r.sku),
        [Number(r.total), Number(r.available), Number(r.held), Number(r.sold)],
      ]),
    );
  } finally {
    await c.end();
  }
}

/** Invariants 1 and 2 for a set of counters. */
export function invariantViolations(where: string, m: Map<string, Counters>): string[] {
  const out: string[] = [];
  for (const [sku, [t, a, h, s]] of m) {
    if (a < 0) out.push(`${where} ${sku}: available ${a} < 0`);
    if (h + s > t) out.push(`${where} ${sku}: held+sold ${h + s} > total ${t}`);
    if (h < 0 || s < 0) out.push(`${where} ${sku}: negative held/sold ${h}/${s}`);
    if (a + h + s !== t) out.push(`${where} ${sku}: available+held+sold ${a + h + s} ≠ total ${t}`);
  }
  return out;
}

function cmpStreamId(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/**
 * Pending + undelivered entries of every group of the pipeline's streams. "Undelivered" is
 * counted from the group's last-delivered-id, not from XINFO's `lag`: after a Redis restart
 * from a truncated AOF, Redis 7.0 was seen reporting a lag of ~1 300 for groups that had read
 * everything (last-delivered-id = last-generated-id, stream empty).
 */
export async function groupBacklog(
  redis: Redis,
  namespace: string,
  shard = 'main',
): Promise<string[]> {
  const n = names(namespace, shard);
  const out: string[] = [];
  for (const s of [n.events, n.admin, n.inbound, n.ledger, n.outbox]) {
    let groups: unknown[][] = [];
    let info: unknown[] = [];
    try {
      groups = (await redis.xinfo('GROUPS', s)) as unknown[][];
      info = (await redis.xinfo('STREAM', s)) as unknown[];
    } catch {
      continue; // stream never created
    }
    const lastGenerated = String(info[info.indexOf('last-generated-id') + 1]);
    for (const g of groups) {
      const o: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) o[String(g[i])] = g[i + 1];
      const pending = Number(o.pending ?? 0);
      const lastDelivered = String(o['last-delivered-id']);
      let undelivered = 0;
      if (cmpStreamId(lastDelivered, lastGenerated) < 0) {
        undelivered = (
          (await redis.xrange(s, `(${lastDelivered}`, '+', 'COUNT', 10_000)) as unknown[]
        ).length;
      }
      if (pending || undelivered) {
        out.push(
          `${s} group ${String(o.name)}: pending ${pending}, undelivered ${undelivered} (XINFO lag ${String(o.lag)})`,
        );
      }
    }
  }
  return out;
}

export async function check(o: CheckOptions): Promise<CheckResult> {
  const n = names(o.namespace, o.shard);
  const t = o.traffic;
  const tolerance = o.expiryToleranceMs ?? 2_500;
  const r: CheckResult = {
    sent: 0,
    sentEvents: t.events.size,
    sentAdmin: t.admin.size,
    sentRaw: t.raw.length,
    outcomes: 0,
    deadLetters: 0,
    ledgerRows: 0,
    ledgerChanges: 0,
    expectedChanges: 0,
    byStatus: {},
    lost: [],
    doubled: [],
    unexpected: [],
    oversold: [],
    mismatch: [],
    deadValid: [],
    holds: [],
    pending: [],
    lateExpiries: [],
    maxExpiryDelayMs: 0,
    crashWindowRows: [],
    refused: [],
    compensations: 0,
    redisStock: new Map(),
    mysqlStock: new Map(),
  };
  r.sent = r.sentEvents + r.sentAdmin + r.sentRaw;

  // ---- what the fleet says happened --------------------------------------------------------
  const outcomes = await readAll(o.redis, n.outcomes);
  const dead = await readAll(o.redis, n.dead);
  r.outcomes = outcomes.length;
  r.deadLetters = dead.length;
  const outByEvent = new Map<string, Fields[]>();
  for (const { f } of outcomes) {
    const l = outByEvent.get(f.event_id ?? '') ?? [];
    l.push(f);
    outByEvent.set(f.event_id ?? '', l);
    const k = f.reason ? `${f.type}:${f.reason}` : f.status!;
    r.byStatus[k] = (r.byStatus[k] ?? 0) + 1;
  }
  const deadBySource = new Map<string, Fields[]>();
  for (const { f } of dead) {
    const key = `${f.source_stream}|${f.source_id}`;
    const l = deadBySource.get(key) ?? [];
    l.push(f);
    deadBySource.set(key, l);
  }
  const explainedDead = new Set<string>();
  const rawEventIds = new Set(
    t.raw.map((x) => x.eventId).filter((x): x is string => x !== undefined),
  );
  const rawKeys = new Set(t.raw.map((x) => `${x.stream}|${x.id}`));
  const explainedOutcomes = new Set<string>();

  // ---- every checkout event sent --------------------------------------------------------------
  const expected = new Map<
    string,
    { kind: string; lines: Array<[string, number, number, number, number]>; why: string }
  >();
  const holds = new Map<
    string,
    { lines: Array<[string, number]>; deadline: number; releases: string[] }
  >();
  const expect = (
    changeId: string,
    kind: string,
    lines: Array<[string, number, number, number, number]>,
    why: string,
  ) => {
    if (expected.has(changeId)) r.doubled.push(`change ${changeId} implied twice (${why})`);
    expected.set(changeId, { kind, lines, why });
  };
  // Outcomes in stream order, so holds exist before their follow-ups are looked at.
  for (const { f } of outcomes) {
    const ev = f.event_id ?? '';
    const sent = t.events.get(ev);
    if (sent) {
      if (explainedOutcomes.has(ev)) continue; // doubled: reported below
      explainedOutcomes.add(ev);
      const cid = f.checkout_id ?? '';
      if (cid !== sent.checkoutId)
        r.unexpected.push(`outcome of ${ev} names checkout ${cid}, sent ${sent.checkoutId}`);
      if (sent.type !== f.type)
        r.unexpected.push(`outcome of ${ev} has type ${f.type}, sent ${sent.type}`);
      const hold = holds.get(cid);
      switch (f.status) {
        case 'reserved': {
          if (sent.type !== 'reserve') break;
          if (hold) r.doubled.push(`checkout ${cid} reserved twice (${ev})`);
          const lines = sent.lines!;
          holds.set(cid, { lines, deadline: Number(f.expires_at), releases: [] });
          expect(
            `reserve:${ev}`,
            'reserve',
            lines.map(([s, q]) => [s, 0, -q, q, 0]),
            ev,
          );
          break;
        }
        case 'confirmed':
        case 'cancelled': {
          if (!hold) {
            r.unexpected.push(`${f.status} ${ev} for checkout ${cid} that has no hold`);
            break;
          }
          hold.releases.push(`${f.status}:${ev}`);
          const c = f.status === 'confirmed';
          expect(
            `${c ? 'confirm' : 'cancel'}:${ev}`,
            c ? 'confirm' : 'cancel',
            hold.lines.map(([s, q]) => (c ? [s, 0, 0, -q, q] : [s, 0, q, -q, 0])),
            ev,
          );
          break;
        }
        case 'extended': {
          if (!hold) {
            r.unexpected.push(`extended ${ev} for checkout ${cid} that has no hold`);
            break;
          }
          hold.deadline = Number(f.expires_at);
          expect(
            `extend:${ev}`,
            'extend',
            hold.lines.map(([s]) => [s, 0, 0, 0, 0]),
            ev,
          );
          break;
        }
        case 'rejected':
          break;
        default:
          r.unexpected.push(`outcome of ${ev} has status ${f.status}`);
      }
      continue;
    }
    const m = /^expired:(.*):(\d+)$/.exec(ev);
    if (m && f.status === 'expired') {
      if (explainedOutcomes.has(ev)) continue;
      explainedOutcomes.add(ev);
      const cid = m[1]!;
      const hold = holds.get(cid);
      if (!hold) {
        r.unexpected.push(`expiry ${ev} of a hold that was never reserved`);
        continue;
      }
      hold.releases.push(`expired:${ev}`);
      const delay = Number(f.at) - hold.deadline;
      r.maxExpiryDelayMs = Math.max(r.maxExpiryDelayMs, delay);
      if (delay < 0) r.unexpected.push(`${ev} expired ${-delay} ms before its deadline`);
      if (delay > tolerance) r.lateExpiries.push(`${ev} expired ${delay} ms after its deadline`);
      expect(
        `expire:${cid}:${m[2]}`,
        'expire',
        hold.lines.map(([s, q]) => [s, 0, q, -q, 0]),
        ev,
      );
      continue;
    }
    // An outcome for a raw (hostile) entry that happened to be valid is explained below.
    if (t.abandoned.has(ev))
      r.unexpected.push(`outcome for ${ev}, which the producer abandoned (never re-sent)`);
    else if (!rawEventIds.has(ev))
      r.unexpected.push(`outcome for an event never sent: ${ev.slice(0, 80)}`);
    else explainedOutcomes.add(ev);
  }
  for (const [ev, list] of outByEvent) {
    if (list.length > 1) r.doubled.push(`${list.length} outcomes for ${ev.slice(0, 80)}`);
  }
  for (const [cid, h] of holds) {
    if (h.releases.length > 1)
      r.doubled.push(`hold ${cid} released ${h.releases.length} times: ${h.releases.join(', ')}`);
  }
  for (const e of t.events.values()) {
    const outs = outByEvent.get(e.eventId)?.length ?? 0;
    const deadOnes = e.ids.flatMap((id) => deadBySource.get(`${t.streams.events}|${id}`) ?? []);
    for (const id of e.ids) explainedDead.add(`${t.streams.events}|${id}`);
    if (deadOnes.length)
      r.deadValid.push(`${e.eventId}: dead-lettered (${deadOnes.map((d) => d.reason).join(', ')})`);
    if (!outs && !deadOnes.length)
      r.lost.push(
        `event ${e.eventId} (${e.type}, entry ${e.ids.join(',')}): no outcome, no dead letter`,
      );
  }
  // ---- admin events ---------------------------------------------------------------------------
  for (const a of t.admin.values()) {
    for (const id of a.ids) explainedDead.add(`${t.streams.admin}|${id}`);
    const deadOnes = a.ids.flatMap((id) => deadBySource.get(`${t.streams.admin}|${id}`) ?? []);
    if (deadOnes.length) {
      r.deadValid.push(
        `admin ${a.eventId}: dead-lettered (${deadOnes.map((d) => d.reason).join(', ')})`,
      );
      continue;
    }
    if (a.type === 'restock')
      expect(`restock:${a.eventId}`, 'restock', [[a.sku, a.qty!, a.qty!, 0, 0]], a.eventId);
    else expect(`set_limit:${a.eventId}`, 'set_limit', [[a.sku, 0, 0, 0, 0]], a.eventId);
  }
  // ---- raw (hostile) entries: a dead letter each, or an outcome if valid ----------------------
  for (const x of t.raw) {
    const key = `${x.stream}|${x.id}`;
    explainedDead.add(key);
    const d = deadBySource.get(key) ?? [];
    const outs = x.eventId !== undefined ? (outByEvent.get(x.eventId)?.length ?? 0) : 0;
    if (d.length > 1) r.doubled.push(`${d.length} dead letters for ${key}`);
    if (d.length === 0 && outs === 0) {
      // A valid duplicate of an earlier raw entry's event_id has no effect: accounted.
      const dup =
        x.eventId !== undefined &&
        t.raw.some((y) => y !== x && y.eventId === x.eventId && y.id < x.id);
      if (!dup || x.stream !== t.streams.events)
        r.lost.push(`raw ${x.kind} entry ${key}: no dead letter, no outcome`);
    }
  }
  // Dead letters nothing explains (e.g. written twice, or for an entry never sent).
  const ledgerDead: Fields[] = [];
  for (const [key, list] of deadBySource) {
    if (key.startsWith(`${n.ledger}|`)) {
      ledgerDead.push(...list);
      continue;
    }
    if (!explainedDead.has(key))
      r.unexpected.push(`dead letter for an entry never sent: ${key} (${list[0]!.reason})`);
    else if (list.length > 1 && !rawKeys.has(key)) {
      r.doubled.push(`${list.length} dead letters for ${key}`);
    }
  }
  r.expectedChanges = expected.size;

  // ---- Redis: counters against the rebuilt books, holds, groups --------------------------------
  const model = new Map<string, Counters>();
  for (const e of expected.values()) for (const [sku, ...d] of e.lines) add(model, sku, d);
  r.redisStock = await redisStock(o.redis, o.namespace, o.shard);
  r.oversold.push(...invariantViolations('redis', r.redisStock));
  for (const sku of new Set([...model.keys(), ...r.redisStock.keys()])) {
    if (!eq(model.get(sku), r.redisStock.get(sku))) {
      r.mismatch.push(
        `redis ${sku} ${JSON.stringify(r.redisStock.get(sku) ?? null)} ≠ books from outcomes ${JSON.stringify(model.get(sku) ?? zero())}`,
      );
    }
  }
  const open = [...holds].filter(([, h]) => h.releases.length === 0);
  for (let i = 0; i < open.length; i += 500) {
    const p = o.redis.pipeline();
    for (const [cid] of open.slice(i, i + 500)) {
      p.hget(n.hold(cid), 'state');
      p.zscore(n.holdsDue, cid);
    }
    const res = (await p.exec()) ?? [];
    open.slice(i, i + 500).forEach(([cid, h], k) => {
      const state = res[2 * k]?.[1];
      const due = res[2 * k + 1]?.[1];
      if (state !== 'active')
        r.holds.push(`hold ${cid}: no release outcome but state ${String(state)}`);
      else if (due === null || Number(due) !== h.deadline)
        r.holds.push(`hold ${cid}: active, due ${String(due)} ≠ deadline ${h.deadline}`);
      else if (Date.now() > h.deadline + tolerance + 5_000)
        r.lateExpiries.push(
          `hold ${cid} still active ${Date.now() - h.deadline} ms after its deadline`,
        );
    });
  }
  r.pending = await groupBacklog(o.redis, o.namespace, o.shard);

  // ---- MySQL: the ledger by change id, the stock rows --------------------------------------------
  const c = await createConnection({
    uri: o.mysqlUrl,
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  try {
    const [rows] = (await c.query(
      'SELECT change_id, sku, kind, d_total, d_available, d_held, d_sold, at_ms FROM inventory_ledger',
    )) as unknown as [Array<Record<string, unknown>>];
    r.ledgerRows = rows.length;
    const byChange = new Map<string, { kind: string; at: number; lines: Map<string, number[]> }>();
    const ledgerSum = new Map<string, Counters>();
    for (const row of rows) {
      const id = String(row.change_id);
      const sku = String(row.sku);
      const ch = byChange.get(id) ?? {
        kind: String(row.kind),
        at: Number(row.at_ms),
        lines: new Map(),
      };
      const d = [
        Number(row.d_total),
        Number(row.d_available),
        Number(row.d_held),
        Number(row.d_sold),
      ];
      if (ch.lines.has(sku)) r.doubled.push(`two ledger rows for (${id}, ${sku})`);
      ch.lines.set(sku, d);
      byChange.set(id, ch);
      add(ledgerSum, sku, d);
    }
    const [dups] = (await c.query(
      'SELECT change_id, sku, COUNT(*) AS n FROM inventory_ledger GROUP BY change_id, sku HAVING COUNT(*) > 1',
    )) as unknown as [Array<Record<string, unknown>>];
    for (const d of dups)
      r.doubled.push(`ledger (${String(d.change_id)}, ${String(d.sku)}) × ${String(d.n)}`);
    r.ledgerChanges = byChange.size;
    const refusedIds = new Set(ledgerDead.map((d) => d.change_id ?? ''));
    const windows = o.crashWindows ?? [];
    const inWindow = (at: number) => windows.some((w) => at >= w.fromMs && at <= w.toMs);
    for (const [id, e] of expected) {
      const got = byChange.get(id);
      if (!got) {
        if (windows.length && refusedIds.has(id))
          r.refused.push(`${id}: refused by MySQL after the crash (ledger incident)`);
        else r.lost.push(`change ${id} (${e.why}) not in MySQL`);
        continue;
      }
      const want = new Map(e.lines.map(([s, ...d]) => [s, d]));
      const same =
        want.size === got.lines.size &&
        [...want].every(([s, d]) => got.lines.get(s)?.every((v, i) => v === d[i]));
      if (!same) {
        const msg = `change ${id}: MySQL rows ${JSON.stringify([...got.lines])} ≠ expected ${JSON.stringify([...want])}`;
        if (inWindow(got.at))
          r.crashWindowRows.push(`${msg} (decided again differently after the crash)`);
        else r.mismatch.push(msg);
      }
    }
    for (const [id, ch] of byChange) {
      if (expected.has(id)) continue;
      if (ch.kind === 'compensate' && o.allowCompensate) {
        r.compensations++;
        continue;
      }
      if (inWindow(ch.at))
        r.crashWindowRows.push(
          `${id} (at ${ch.at}): decided before the crash, lost by Redis, kept by MySQL`,
        );
      else
        r.unexpected.push(`ledger change ${id} (${ch.kind}, at ${ch.at}) that no outcome explains`);
    }
    for (const d of ledgerDead) {
      if (!(windows.length && d.reason === 'ledger_incident')) {
        r.unexpected.push(
          `ledger entry dead-lettered: ${d.change_id} (${d.reason}: ${String(d.detail).slice(0, 160)})`,
        );
      }
    }
    r.mysqlStock = await mysqlStock(o.mysqlUrl);
    r.oversold.push(...invariantViolations('mysql', r.mysqlStock));
    for (const sku of new Set([...ledgerSum.keys(), ...r.mysqlStock.keys()])) {
      if (!eq(ledgerSum.get(sku), r.mysqlStock.get(sku))) {
        r.mismatch.push(
          `mysql ${sku}: stock ${JSON.stringify(r.mysqlStock.get(sku) ?? null)} ≠ Σ ledger ${JSON.stringify(ledgerSum.get(sku))}`,
        );
      }
    }
    for (const sku of new Set([...r.redisStock.keys(), ...r.mysqlStock.keys()])) {
      if (!eq(r.redisStock.get(sku), r.mysqlStock.get(sku))) {
        r.mismatch.push(
          `${sku}: redis ${JSON.stringify(r.redisStock.get(sku) ?? null)} ≠ mysql ${JSON.stringify(r.mysqlStock.get(sku) ?? null)}`,
        );
      }
    }
  } finally {
    await c.end();
  }
  return r;
}

/** The failing categories of a result (empty = every invariant held). */
export function failures(
  r: CheckResult,
  opts: { lateExpiriesFail?: boolean } = {},
): Record<string, string[]> {
  const f: Record<string, string[]> = {};
  const cats: Array<keyof CheckResult> = [
    'lost',
    'doubled',
    'unexpected',
    'oversold',
    'mismatch',
    'deadValid',
    'holds',
    'pending',
  ];
  if (opts.lateExpiriesFail) cats.push('lateExpiries');
  for (const k of cats) {
    const v = r[k] as string[];
    if (v.length) f[k] = v.slice(0, 10).concat(v.length > 10 ? [`… ${v.length - 10} more`] : []);
  }
  return f;
}

export function summary(r: CheckResult): string {
  return (
    `sent ${r.sent} (events ${r.sentEvents}, admin ${r.sentAdmin}, raw ${r.sentRaw}); outcomes ${r.outcomes}, ` +
    `dead ${r.deadLetters}, ledger rows ${r.ledgerRows} / changes ${r.ledgerChanges} (expected ${r.expectedChanges}); ` +
    `lost ${r.lost.length}, doubled ${r.doubled.length}, unexpected ${r.unexpected.length}, oversold ${r.oversold.length}, ` +
    `mismatch ${r.mismatch.length}, deadValid ${r.deadValid.length}, holds ${r.holds.length}, pending ${r.pending.length}, ` +
    `late expiries ${r.lateExpiries.length} (max delay ${r.maxExpiryDelayMs} ms), crash-window rows ${r.crashWindowRows.length}, ` +
    `refused ${r.refused.length}, compensations ${r.compensations}; ${JSON.stringify(r.byStatus)}`
  );
}
