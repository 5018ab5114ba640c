/**
 * Plans a ledger batch: which changes apply, which are duplicates, which are refused, the lock
 * order, what each stock row becomes and the rows the ledger tables get. Pure — no I/O:
 * apply-batch.ts reads the books through ledger-store.ts, hands them in, and writes what comes
 * out. That is what lets plan-batch.property.test.ts check the rules without MySQL.
 *
 * Two steps, because the lock order must be known before the rows can be read:
 *
 *   prepareBatch(entries)            validate; sort by stream id; collapse duplicates within the
 *                                    batch (first in stream order wins); every touched SKU in
 *                                    lock order;
 *   planBatch(batch, shard, books)   walk the changes in stream order against the locked rows: an
 *                                    applied change is skipped, one that would break an invariant
 *                                    on any of its SKUs is refused as a whole (an incident), the
 *                                    others move the rows.
 */
import {
  MAX_CHANGE_ID,
  MAX_SKU,
  normalizeLedgerEntry,
  parseStreamId,
  type LedgerEntry,
} from './ledger-entry.js';

export type IncidentReason =
  | 'negative_available'
  | 'oversold'
  | 'not_conserved'
  | 'negative_counter'
  | 'out_of_range'
  | 'invalid_entry';

export interface IncidentViolation {
  /** '' for an invalid entry that names no usable SKU. */
  sku: string;
  reason: IncidentReason;
  detail: string;
}

/** A change that was not applied. Recorded in ledger_incidents (one row per SKU). */
export interface LedgerIncident {
  streamId: string;
  changeId: string;
  kind: string;
  /** The first violation's reason. */
  reason: IncidentReason;
  /** One line for logs / dead letters: every violation as `sku: reason detail`. */
  detail: string;
  violations: IncidentViolation[];
  /** An earlier delivery refused this change too (its incident rows' occurrences were bumped). */
  repeated: boolean;
  entry: LedgerEntry;
}

/** One inventory_stock row's counters. */
export interface StockRow {
  total: number;
  available: number;
  held: number;
  sold: number;
  perUser: number;
}

export interface PreparedChange {
  entry: LedgerEntry;
  ms: bigint;
  seq: bigint;
}

export interface PreparedBatch {
  /** Valid, first delivery within the batch, sorted by stream id. */
  changes: PreparedChange[];
  /** Malformed entries: refused (invalid_entry) whatever the books say. */
  invalid: LedgerIncident[];
  /** Entries that repeat a change earlier in the batch. */
  duplicatesInBatch: number;
  /** Every SKU the changes touch, once, in lock order (see compareSku). */
  lockOrder: string[];
}

/** What the transaction found under its locks. */
export interface LockedBooks {
  /** The locked inventory_stock rows: at least every SKU of the batch's lockOrder. */
  rows: ReadonlyMap<string, StockRow>;
  /** change_ids already in inventory_ledger (an earlier delivery applied them). */
  applied: ReadonlySet<string>;
  /** incidentKeys() already in ledger_incidents (an earlier delivery refused them). */
  refused: ReadonlySet<string>;
}

/** One inventory_ledger row, in the order of ledger-store.ts's INSERT columns. */
export type LedgerRow = [
  changeId: string,
  sku: string,
  kind: string,
  eventId: string,
  checkoutId: string,
  dTotal: number,
  dAvailable: number,
  dHeld: number,
  dSold: number,
  perUser: number | null,
  shard: string,
  streamMs: string,
  streamSeq: string,
  atMs: number,
];

/** One ledger_incidents row, in the order of ledger-store.ts's INSERT columns. */
export type IncidentRow = [
  changeId: string,
  sku: string,
  reason: IncidentReason,
  detail: string,
  streamId: string,
  shard: string,
];

/** One SKU's net change over the batch. */
export interface StockUpdate {
  sku: string;
  /** [dTotal, dAvailable, dHeld, dSold] */
  d: [number, number, number, number];
  /** The final per_user_limit when a set_limit applied to this SKU, else null (unchanged). */
  limit: number | null;
}

export interface BatchPlan {
  /** Changes to apply, in stream order. */
  apply: LedgerEntry[];
  /** Entries skipped: change already in the ledger, or repeated within the batch. */
  duplicates: number;
  /** Changes refused: the invalid entries, then the others in stream order. */
  incidents: LedgerIncident[];
  /** change_ids of applied changes an earlier delivery had refused (their incidents resolve). */
  resolved: string[];
  /** inventory_ledger rows: one per (applied change, SKU), in stream order. */
  ledgerRows: LedgerRow[];
  /** ledger_incidents rows: one per (incident, SKU). */
  incidentRows: IncidentRow[];
  /** Every row of the lock order as it is after the batch. */
  rows: Map<string, StockRow>;
  /** The rows that change, in lock order, as net deltas (the stock UPDATE). */
  stockUpdates: StockUpdate[];
}

// Column sizes of ledger_incidents (migrations/0001_init.sql).
const MAX_DETAIL = 4000;
const MAX_STREAM_ID = 48;

/**
 * Compares SKUs the way the utf8mb4_bin primary key orders them (by code point = by UTF-8
 * bytes), so the locks a statement takes in index order and the order of our chunks agree.
 */
export function compareSku(a: string, b: string): number {
  // Without encoding: the sort of a batch's SKUs called Buffer.from twice per comparison, about
  // a sixth of all a batch allocated. UTF-16 order is code-point order except that surrogates
  // (U+D800–DFFF, the halves of code points ≥ U+10000) sort below U+E000–FFFF; moving them
  // above fixes that. Lone surrogates (which Buffer.from made U+FFFD) are invalid ids anyway.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x < 0xe000 ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y < 0xe000 ? 0x2000 : -0x800;
    return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

const truncate = (s: string, n: number) => {
  // Called for every change id of every batch: no array of its characters when it fits anyway
  // (UTF-16 units are never fewer than code points).
  if (s.length <= n) return s;
  const cps = [...s];
  return cps.length <= n ? s : cps.slice(0, n).join('');
};

/** What can be known before the locks: the valid changes in stream order, and the lock order. */
export function prepareBatch(entries: LedgerEntry[]): PreparedBatch {
  const valid: PreparedChange[] = [];
  const invalid: LedgerIncident[] = [];
  for (const raw of entries) {
    const e = normalizeLedgerEntry(raw);
    if ('error' in e) {
      invalid.push({
        streamId: String(raw?.streamId ?? ''),
        changeId: String(raw?.changeId ?? ''),
        kind: String(raw?.kind ?? ''),
        reason: 'invalid_entry',
        detail: `invalid_entry: ${e.error}`,
        violations: [{ sku: '', reason: 'invalid_entry', detail: e.error }],
        repeated: false,
        entry: raw,
      });
      continue;
    }
    const [ms, seq] = parseStreamId(e.streamId)!;
    valid.push({ entry: e, ms, seq });
  }
  valid.sort((a, b) =>
    a.ms !== b.ms ? (a.ms < b.ms ? -1 : 1) : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0,
  );
  const seen = new Set<string>();
  const changes: PreparedChange[] = [];
  for (const c of valid) {
    if (seen.has(c.entry.changeId)) continue;
    seen.add(c.entry.changeId);
    changes.push(c);
  }
  const skuSet = new Set<string>();
  for (const c of changes) for (const l of c.entry.lines) skuSet.add(l[0]);
  return {
    changes,
    invalid,
    duplicatesInBatch: valid.length - changes.length,
    lockOrder: [...skuSet].sort(compareSku),
  };
}

/** change_ids to look up in inventory_ledger. */
export function ledgerKeys(b: PreparedBatch): string[] {
  return b.changes.map((c) => c.entry.changeId);
}

/** change_ids to look up in ledger_incidents, as its column holds them (truncated). */
export function incidentKeys(b: PreparedBatch): string[] {
  return [...ledgerKeys(b), ...b.invalid.map((i) => i.changeId)].map((id) =>
    truncate(id, MAX_CHANGE_ID),
  );
}

/** What the transaction does to `books`, the rows it locked for `b` in `shard`. */
export function planBatch(b: PreparedBatch, shard: string, books: LockedBooks): BatchPlan {
  const rows = new Map<string, StockRow>();
  for (const sku of b.lockOrder) {
    const r = books.rows.get(sku);
    if (!r) throw new Error(`no locked stock row for ${JSON.stringify(sku)}`);
    rows.set(sku, { ...r });
  }
  const plan: BatchPlan = {
    apply: [],
    duplicates: b.duplicatesInBatch,
    incidents: b.invalid.map((i) => ({
      ...i,
      repeated: books.refused.has(truncate(i.changeId, MAX_CHANGE_ID)),
    })),
    resolved: [],
    ledgerRows: [],
    incidentRows: [],
    rows,
    stockUpdates: [],
  };
  const limitSet = new Set<string>();
  for (const { entry: e, ms, seq } of b.changes) {
    if (books.applied.has(e.changeId)) {
      plan.duplicates++;
      continue;
    }
    const outcome = evaluate(e, rows);
    if ('violations' in outcome) {
      plan.incidents.push({
        streamId: e.streamId,
        changeId: e.changeId,
        kind: e.kind,
        reason: outcome.violations[0]!.reason,
        detail: describe(outcome.violations),
        violations: outcome.violations,
        repeated: books.refused.has(e.changeId),
        entry: e,
      });
      continue;
    }
    for (const [sku, s] of outcome.next) rows.set(sku, s);
    if (e.kind === 'set_limit') for (const l of e.lines) limitSet.add(l[0]);
    for (const row of ledgerRows(e, ms, seq, shard)) plan.ledgerRows.push(row);
    plan.apply.push(e);
    if (books.refused.has(e.changeId)) plan.resolved.push(e.changeId);
  }
  plan.incidentRows = incidentRows(plan.incidents, shard);
  plan.stockUpdates = stockUpdates(b.lockOrder, books.rows, rows, limitSet);
  return plan;
}

/**
 * What `e` makes of its rows, or why it may not: a line with any non-zero delta must leave its
 * row within every invariant (all-zero lines — extend, set_limit — are never refused).
 */
function evaluate(
  e: LedgerEntry,
  rows: ReadonlyMap<string, StockRow>,
): { next: Map<string, StockRow> } | { violations: IncidentViolation[] } {
  const next = new Map<string, StockRow>();
  const violations: IncidentViolation[] = [];
  for (const [sku, dT, dA, dH, dS] of e.lines) {
    const cur = rows.get(sku)!;
    const s: StockRow = {
      total: cur.total + dT,
      available: cur.available + dA,
      held: cur.held + dH,
      sold: cur.sold + dS,
      perUser: e.kind === 'set_limit' ? e.perUser! : cur.perUser,
    };
    const bad = dT === 0 && dA === 0 && dH === 0 && dS === 0 ? null : violation(s);
    if (bad) {
      violations.push({
        sku,
        reason: bad,
        detail: JSON.stringify({
          before: { total: cur.total, available: cur.available, held: cur.held, sold: cur.sold },
          delta: [dT, dA, dH, dS],
          after: { total: s.total, available: s.available, held: s.held, sold: s.sold },
        }),
      });
    }
    next.set(sku, s);
  }
  return violations.length ? { violations } : { next };
}

/** `e`'s inventory_ledger rows: one per SKU, with its place in `shard`'s stream. */
function ledgerRows(e: LedgerEntry, ms: bigint, seq: bigint, shard: string): LedgerRow[] {
  // Once per change, not per row: the rows of a change share the strings.
  const streamMs = ms.toString();
  const streamSeq = seq.toString();
  return e.lines.map(([sku, dT, dA, dH, dS]) => [
    e.changeId,
    sku,
    e.kind,
    e.eventId,
    e.checkoutId,
    dT,
    dA,
    dH,
    dS,
    e.kind === 'set_limit' ? e.perUser! : null,
    shard,
    streamMs,
    streamSeq,
    e.atMs,
  ]);
}

/** The first invariant `s` breaks, if any. */
function violation(s: StockRow): IncidentReason | null {
  // Beyond 2^53 JS arithmetic is inexact and the row could no longer be read back safely.
  if (![s.total, s.available, s.held, s.sold].every(Number.isSafeInteger)) return 'out_of_range';
  if (s.available < 0) return 'negative_available';
  if (s.held < 0 || s.sold < 0 || s.total < 0) return 'negative_counter';
  if (s.held + s.sold > s.total) return 'oversold';
  if (s.available + s.held + s.sold !== s.total) return 'not_conserved';
  return null;
}

function describe(violations: IncidentViolation[]): string {
  return truncate(
    violations
      .map((v) => (v.sku ? `${v.sku}: ${v.reason} ${v.detail}` : `${v.reason}: ${v.detail}`))
      .join('; '),
    MAX_DETAIL,
  );
}

/** One row per (incident, SKU), cut to the columns' sizes. */
function incidentRows(incidents: LedgerIncident[], shard: string): IncidentRow[] {
  return incidents.flatMap((inc) =>
    inc.violations.map((v): IncidentRow => [
      truncate(inc.changeId, MAX_CHANGE_ID),
      truncate(v.sku, MAX_SKU),
      v.reason,
      truncate(`${inc.kind}: ${v.detail}`, MAX_DETAIL),
      truncate(inc.streamId, MAX_STREAM_ID),
      shard,
    ]),
  );
}

/**
 * Each SKU's net deltas (and final per_user_limit after a set_limit), in lock order; a row
 * that nets to no change is left out.
 */
function stockUpdates(
  lockOrder: string[],
  before: ReadonlyMap<string, StockRow>,
  after: ReadonlyMap<string, StockRow>,
  limitSet: ReadonlySet<string>,
): StockUpdate[] {
  const out: StockUpdate[] = [];
  for (const sku of lockOrder) {
    const a = before.get(sku)!;
    const b = after.get(sku)!;
    const d: StockUpdate['d'] = [
      b.total - a.total,
      b.available - a.available,
      b.held - a.held,
      b.sold - a.sold,
    ];
    const limit = limitSet.has(sku) ? b.perUser : null;
    if (limit === null && d.every((x) => x === 0)) continue;
    out.push({ sku, d, limit });
  }
  return out;
}
