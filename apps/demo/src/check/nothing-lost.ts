/**
 * Nothing lost: MySQL equals Redis for every SKU; the ledger changes in MySQL, per kind, equal
 * the state changes that happened (reserve = reserved outcomes, confirm = confirmed, cancel =
 * cancelled, expire = expired, restock/set_limit = the admin entries sent) — not fewer (lost)
 * and not more (written twice); no dead letters; no unresolved ledger incidents.
 */
import type { StockRow } from '@holdfast/shared/inspect';
import { fmt } from '../format.js';
import { allSkus, booksMatch } from './stock-rules.js';
import type { VerdictOf } from './verdict.js';

/** Ledger changes in MySQL (@holdfast/shared/inspect mysqlLedgerCounts). */
export interface LedgerCounts {
  rows: number;
  changes: number;
  byKind: Record<string, number>;
}

export interface NothingLostInputs {
  redisStock: StockRow[];
  mysqlStock: StockRow[];
  armed: Map<string, number>;
  mysqlLedger: LedgerCounts;
  /** Outcomes by `status` or `status:reason`. */
  byStatus: Readonly<Record<string, number>>;
  /** Admin entries the demo sent, by kind. */
  adminByKind: Record<string, number>;
  deadLetters: number;
  incidents: number;
}

/** A SKU whose MySQL row differs from Redis (or is missing on either side). */
export interface BooksMismatch {
  sku: string;
  redis: StockRow | null;
  mysql: StockRow | null;
}

export interface NothingLostDetails {
  skus: number;
  mismatched: BooksMismatch[];
  /** The ledger changes the run's state changes must have made, by kind. */
  expectedByKind: Record<string, number>;
  expectedChanges: number;
  /** Kinds whose count in MySQL differs from the state changes. */
  kindMismatches: Array<{ kind: string; inMysql: number; stateChanges: number }>;
  ledgerChanges: number;
  ledgerRows: number;
  deadLetters: number;
  incidents: number;
}

export type NothingLostVerdict = VerdictOf<'nothing_lost', NothingLostDetails>;

/** The ledger changes each kind of state change makes: one per admin entry and per outcome. */
export function expectedLedgerByKind(
  byStatus: Readonly<Record<string, number>>,
  adminByKind: Record<string, number>,
): Record<string, number> {
  const expected: Record<string, number> = {
    ...adminByKind,
    reserve: byStatus.reserved ?? 0,
    confirm: byStatus.confirmed ?? 0,
    cancel: byStatus.cancelled ?? 0,
    expire: byStatus.expired ?? 0,
  };
  if (byStatus.extended) expected.extend = byStatus.extended;
  return expected;
}

export function nothingLost(x: NothingLostInputs): NothingLostVerdict {
  const redis = new Map(x.redisStock.map((r) => [r.sku, r]));
  const mysql = new Map(x.mysqlStock.map((r) => [r.sku, r]));
  const skus = allSkus(x.redisStock, x.mysqlStock, x.armed);
  const mismatched = skus
    .filter((sku) => !booksMatch(redis.get(sku), mysql.get(sku)))
    .map((sku) => ({ sku, redis: redis.get(sku) ?? null, mysql: mysql.get(sku) ?? null }));
  const expectedByKind = expectedLedgerByKind(x.byStatus, x.adminByKind);
  const kindMismatches: NothingLostDetails['kindMismatches'] = [];
  for (const kind of new Set([
    ...Object.keys(expectedByKind),
    ...Object.keys(x.mysqlLedger.byKind),
  ])) {
    const stateChanges = expectedByKind[kind] ?? 0;
    const inMysql = x.mysqlLedger.byKind[kind] ?? 0;
    if (stateChanges !== inMysql) kindMismatches.push({ kind, inMysql, stateChanges });
  }
  const details: NothingLostDetails = {
    skus: skus.length,
    mismatched,
    expectedByKind,
    expectedChanges: Object.values(expectedByKind).reduce((a, b) => a + b, 0),
    kindMismatches,
    ledgerChanges: x.mysqlLedger.changes,
    ledgerRows: x.mysqlLedger.rows,
    deadLetters: x.deadLetters,
    incidents: x.incidents,
  };
  const problems = problemsOf(details);
  return {
    invariant: 'nothing_lost',
    ok: problems.length === 0,
    summary: problems.length ? problems.join('; ') : fine(details),
    details,
  };
}

function fine(d: NothingLostDetails): string {
  const kinds = Object.entries(d.expectedByKind)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
  return `MySQL = Redis for all ${d.skus} SKUs; ${fmt(d.ledgerChanges)} ledger changes in MySQL (${fmt(d.ledgerRows)} rows) = ${fmt(d.expectedChanges)} state changes (${kinds}); 0 dead letters, 0 ledger incidents`;
}

function problemsOf(d: NothingLostDetails): string[] {
  const problems: string[] = [];
  if (d.mismatched.length)
    problems.push(
      `${d.mismatched.length} SKU(s) differ between MySQL and Redis (e.g. ${d.mismatched.slice(0, 3).map(describeMismatch).join('; ')})`,
    );
  for (const k of d.kindMismatches)
    problems.push(
      `ledger ${k.kind}: ${k.inMysql} changes in MySQL, ${k.stateChanges} state changes`,
    );
  if (d.deadLetters) problems.push(`${d.deadLetters} dead letter(s)`);
  if (d.incidents) problems.push(`${d.incidents} unresolved ledger incident(s)`);
  return problems;
}

function describeMismatch(m: BooksMismatch): string {
  const r = m.redis ?? { sold: 0, held: 0 };
  return `${m.sku}: redis sold ${r.sold} held ${r.held}, mysql ${m.mysql ? `sold ${m.mysql.sold} held ${m.mysql.held}` : 'missing'}`;
}
