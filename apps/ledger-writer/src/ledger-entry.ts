/**
 * A ledger-stream entry: its shape, and the checks that make it safe to plan and store — ids
 * that fit their columns and stay distinct keys under utf8mb4_bin, integer deltas, a known kind.
 * Pure: no I/O. Fields per docs/architecture.md.
 */

export const LEDGER_KINDS = [
  'reserve',
  'confirm',
  'cancel',
  'extend',
  'expire',
  'restock',
  'set_limit',
  'compensate',
  'seed',
] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** [sku, dTotal, dAvailable, dHeld, dSold] */
export type LedgerLine = [
  sku: string,
  dTotal: number,
  dAvailable: number,
  dHeld: number,
  dSold: number,
];

/** One state change, as read from the shard's ledger stream. */
export interface LedgerEntry {
  /** Stream entry id, "ms-seq". */
  streamId: string;
  changeId: string;
  kind: LedgerKind;
  eventId: string;
  /** '' when the change has no hold (restock, set_limit). */
  checkoutId: string;
  atMs: number;
  lines: LedgerLine[];
  /** set_limit only: the new per-user limit (0 = none). */
  perUser?: number;
}

// Limits mirror the column sizes of migrations/0001_init.sql (characters, not bytes).
export const MAX_CHANGE_ID = 300;
const MAX_EVENT_ID = 300;
const MAX_CHECKOUT_ID = 128;
export const MAX_SKU = 128;
const MAX_PER_USER = 2_147_483_647;
const MAX_U64 = (1n << 64n) - 1n;

const KIND_SET: ReadonlySet<string> = new Set(LEDGER_KINDS);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const charLength = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

function checkId(what: string, v: string, max: number, allowEmpty: boolean): string | null {
  if (typeof v !== 'string') return `${what} must be a string`;
  if (!allowEmpty && v.length === 0) return `${what} is empty`;
  // length counts UTF-16 units, never fewer than characters: count only when it could matter.
  if (v.length > max && charLength(v) > max) return `${what} longer than ${max} characters`;
  if (LONE_SURROGATE.test(v)) return `${what} is not valid Unicode`;
  // utf8mb4_bin is a PAD SPACE collation: 'x' and 'x ' would be the same key in MySQL.
  if (/ $/.test(v))
    return `${what} ends with a space (MySQL's utf8mb4_bin ignores trailing spaces)`;
  return null;
}

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;
/** Both parts at most 19 digits: below 10^19 < 2^64, no BigInt needed to know it fits. */
const SHORT_STREAM_ID = /^\d{1,19}-\d{1,19}$/;

/** "ms-seq" as two unsigned 64-bit numbers (the ledger's stream_ms / stream_seq), or null. */
export function parseStreamId(id: string): [bigint, bigint] | null {
  const m = STREAM_ID.exec(id);
  if (!m) return null;
  const ms = BigInt(m[1]!);
  const seq = BigInt(m[2]!);
  return ms > MAX_U64 || seq > MAX_U64 ? null : [ms, seq];
}

/** parseStreamId(id) !== null, without allocating in the usual case (every entry, every batch). */
function isStreamId(id: string): boolean {
  return SHORT_STREAM_ID.test(id) || parseStreamId(id) !== null;
}

/** A line's shape and deltas, or why not (the error text names the SKU as before). */
function lineError(line: unknown): string | null {
  if (!Array.isArray(line) || line.length !== 5) {
    return 'a line is not [sku, d_total, d_available, d_held, d_sold]';
  }
  const sku = line[0] as string;
  const skuErr = checkId('sku', sku, MAX_SKU, false);
  if (skuErr) return skuErr;
  for (let i = 1; i < 5; i++) {
    if (!Number.isSafeInteger(line[i])) return `non-integer delta for sku ${sku}`;
  }
  return null;
}

/** True when `lines` is already normal: SKUs distinct and no -0 (nothing to merge or rewrite). */
function isNormal(lines: LedgerLine[]): boolean {
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    for (let k = 1; k < 5; k++) if (Object.is(l[k], -0)) return false;
    // Carts have a handful of lines: a nested loop beats building a Set per entry.
    for (let j = 0; j < i; j++) if (lines[j]![0] === l[0]) return false;
  }
  return true;
}

/**
 * Validates an entry (whatever its origin) and returns it with duplicate SKU lines merged
 * (summed: Redis applied both), or an error. Runs on every entry of every batch (twice: when it
 * is parsed and again in prepareBatch), so the usual case — lines already distinct — allocates
 * only the returned object and keeps the lines as they are.
 */
export function normalizeLedgerEntry(e: LedgerEntry): LedgerEntry | { error: string } {
  if (!e || typeof e !== 'object') return { error: 'entry is not an object' };
  if (typeof e.streamId !== 'string' || !isStreamId(e.streamId)) {
    return { error: `bad stream id ${JSON.stringify(e.streamId)}` };
  }
  const idErr =
    checkId('change_id', e.changeId, MAX_CHANGE_ID, false) ??
    checkId('event_id', e.eventId, MAX_EVENT_ID, true) ??
    checkId('checkout_id', e.checkoutId, MAX_CHECKOUT_ID, true);
  if (idErr) return { error: idErr };
  if (!KIND_SET.has(e.kind)) return { error: `unknown kind ${JSON.stringify(e.kind)}` };
  if (!Number.isSafeInteger(e.atMs) || e.atMs < 0) return { error: `bad at ${String(e.atMs)}` };
  if (!Array.isArray(e.lines)) return { error: 'lines is not an array' };
  let lines: LedgerLine[];
  let valid = true;
  for (const line of e.lines) if (lineError(line) !== null) valid = false;
  if (valid && isNormal(e.lines)) {
    lines = e.lines;
  } else {
    // The general path, as it always was: errors in line order, repeated SKUs summed.
    const merged = new Map<string, LedgerLine>();
    for (const line of e.lines) {
      const err = lineError(line);
      if (err) return { error: err };
      const [sku, ...d] = line;
      const prev = merged.get(sku);
      const next: LedgerLine = prev
        ? [sku, prev[1] + d[0]!, prev[2] + d[1]!, prev[3] + d[2]!, prev[4] + d[3]!]
        : [sku, d[0]!, d[1]!, d[2]!, d[3]!];
      if (!next.slice(1).every((x) => Number.isSafeInteger(x)))
        return { error: `delta overflow for sku ${sku}` };
      merged.set(sku, next.map((x) => (x === 0 ? 0 : x)) as LedgerLine); // no -0
    }
    lines = [...merged.values()];
  }
  let perUser: number | undefined;
  if (e.kind === 'set_limit') {
    if (!Number.isSafeInteger(e.perUser) || e.perUser! < 0 || e.perUser! > MAX_PER_USER) {
      return { error: `set_limit needs per_user 0..${MAX_PER_USER}` };
    }
    if (lines.length === 0) return { error: 'set_limit names no sku' };
    perUser = e.perUser;
  }
  const out: LedgerEntry = {
    streamId: e.streamId,
    changeId: e.changeId,
    kind: e.kind,
    eventId: e.eventId,
    checkoutId: e.checkoutId,
    atMs: e.atMs,
    lines,
  };
  if (perUser !== undefined) out.perUser = perUser;
  return out;
}

/**
 * Parses a raw ledger-stream entry (flat field/value list as XREADGROUP returns it; fields per
 * docs/architecture.md: change_id kind event_id checkout_id at lines [per_user]). Unknown
 * fields are ignored; the first occurrence of a field wins.
 */
export function parseLedgerEntry(id: string, fields: string[]): LedgerEntry | { error: string } {
  if (!Array.isArray(fields) || fields.length % 2 !== 0) return { error: 'odd field/value list' };
  // A scan for the few known fields instead of a Map of all of them: this runs for every entry.
  let changeId: string | undefined;
  let kind: string | undefined;
  let eventId: string | undefined;
  let checkoutId: string | undefined;
  let at: string | undefined;
  let linesJson: string | undefined;
  let pu: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const k = String(fields[i]);
    const v = fields[i + 1];
    // First occurrence wins.
    if (k === 'change_id') changeId ??= String(v);
    else if (k === 'kind') kind ??= String(v);
    else if (k === 'event_id') eventId ??= String(v);
    else if (k === 'checkout_id') checkoutId ??= String(v);
    else if (k === 'at') at ??= String(v);
    else if (k === 'lines') linesJson ??= String(v);
    else if (k === 'per_user') pu ??= String(v);
  }
  if (changeId === undefined) return { error: 'missing field change_id' };
  if (kind === undefined) return { error: 'missing field kind' };
  if (eventId === undefined) return { error: 'missing field event_id' };
  if (at === undefined) return { error: 'missing field at' };
  if (linesJson === undefined) return { error: 'missing field lines' };
  if (!/^\d{1,16}$/.test(at)) return { error: `bad at ${JSON.stringify(at.slice(0, 40))}` };
  let raw: unknown;
  try {
    raw = JSON.parse(linesJson);
  } catch {
    return { error: 'lines is not JSON' };
  }
  // Lua's cjson encodes an empty table as {}.
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0)
    raw = [];
  if (!Array.isArray(raw)) return { error: 'lines is not a JSON array' };
  let perUser: number | undefined;
  if (pu !== undefined && kind === 'set_limit') {
    if (!/^\d{1,10}$/.test(pu)) return { error: `bad per_user ${JSON.stringify(pu.slice(0, 40))}` };
    perUser = Number(pu);
  }
  const entry: LedgerEntry = {
    streamId: id,
    changeId,
    kind: kind as LedgerKind,
    eventId,
    checkoutId: checkoutId ?? '',
    atMs: Number(at),
    lines: raw as LedgerLine[],
  };
  if (perUser !== undefined) entry.perUser = perUser;
  return normalizeLedgerEntry(entry);
}
