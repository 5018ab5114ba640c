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
  if (charLength(v) > max) return `${what} longer than ${max} characters`;
  if (LONE_SURROGATE.test(v)) return `${what} is not valid Unicode`;
  // utf8mb4_bin is a PAD SPACE collation: 'x' and 'x ' would be the same key in MySQL.
  if (/ $/.test(v))
    return `${what} ends with a space (MySQL's utf8mb4_bin ignores trailing spaces)`;
  return null;
}

/** "ms-seq" as two unsigned 64-bit numbers (the ledger's stream_ms / stream_seq), or null. */
export function parseStreamId(id: string): [bigint, bigint] | null {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  if (!m) return null;
  const ms = BigInt(m[1]!);
  const seq = BigInt(m[2]!);
  return ms > MAX_U64 || seq > MAX_U64 ? null : [ms, seq];
}

/**
 * Validates an entry (whatever its origin) and returns it with duplicate SKU lines merged
 * (summed: Redis applied both), or an error.
 */
export function normalizeLedgerEntry(e: LedgerEntry): LedgerEntry | { error: string } {
  if (!e || typeof e !== 'object') return { error: 'entry is not an object' };
  if (typeof e.streamId !== 'string' || !parseStreamId(e.streamId)) {
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
  const merged = new Map<string, LedgerLine>();
  for (const line of e.lines) {
    if (!Array.isArray(line) || line.length !== 5) {
      return { error: 'a line is not [sku, d_total, d_available, d_held, d_sold]' };
    }
    const [sku, ...d] = line;
    const skuErr = checkId('sku', sku, MAX_SKU, false);
    if (skuErr) return { error: skuErr };
    if (!d.every((x) => Number.isSafeInteger(x)))
      return { error: `non-integer delta for sku ${sku}` };
    const prev = merged.get(sku);
    const next: LedgerLine = prev
      ? [sku, prev[1] + d[0]!, prev[2] + d[1]!, prev[3] + d[2]!, prev[4] + d[3]!]
      : [sku, d[0]!, d[1]!, d[2]!, d[3]!];
    if (!next.slice(1).every((x) => Number.isSafeInteger(x)))
      return { error: `delta overflow for sku ${sku}` };
    merged.set(sku, next.map((x) => (x === 0 ? 0 : x)) as LedgerLine); // no -0
  }
  let perUser: number | undefined;
  if (e.kind === 'set_limit') {
    if (!Number.isSafeInteger(e.perUser) || e.perUser! < 0 || e.perUser! > MAX_PER_USER) {
      return { error: `set_limit needs per_user 0..${MAX_PER_USER}` };
    }
    if (merged.size === 0) return { error: 'set_limit names no sku' };
    perUser = e.perUser;
  }
  const out: LedgerEntry = {
    streamId: e.streamId,
    changeId: e.changeId,
    kind: e.kind,
    eventId: e.eventId,
    checkoutId: e.checkoutId,
    atMs: e.atMs,
    lines: [...merged.values()],
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
  const f = new Map<string, string>();
  for (let i = 0; i < fields.length; i += 2) {
    const k = String(fields[i]);
    if (!f.has(k)) f.set(k, String(fields[i + 1]));
  }
  for (const k of ['change_id', 'kind', 'event_id', 'at', 'lines']) {
    if (!f.has(k)) return { error: `missing field ${k}` };
  }
  const at = f.get('at')!;
  if (!/^\d{1,16}$/.test(at)) return { error: `bad at ${JSON.stringify(at.slice(0, 40))}` };
  let raw: unknown;
  try {
    raw = JSON.parse(f.get('lines')!);
  } catch {
    return { error: 'lines is not JSON' };
  }
  // Lua's cjson encodes an empty table as {}.
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0)
    raw = [];
  if (!Array.isArray(raw)) return { error: 'lines is not a JSON array' };
  let perUser: number | undefined;
  const pu = f.get('per_user');
  if (pu !== undefined && f.get('kind') === 'set_limit') {
    if (!/^\d{1,10}$/.test(pu)) return { error: `bad per_user ${JSON.stringify(pu.slice(0, 40))}` };
    perUser = Number(pu);
  }
  const entry = {
    streamId: id,
    changeId: f.get('change_id')!,
    kind: f.get('kind')! as LedgerKind,
    eventId: f.get('event_id')!,
    checkoutId: f.get('checkout_id') ?? '',
    atMs: Number(at),
    lines: raw as LedgerLine[],
    ...(perUser !== undefined ? { perUser } : {}),
  };
  return normalizeLedgerEntry(entry);
}
