/**
 * Internal helpers shared by the validators: field collection, id and integer forms, `lines`
 * parsing, and short, safe detail messages. Not part of the public API.
 */
import {
  MAX_ID_LENGTH,
  MAX_LINES_JSON_DEPTH,
  type RejectReason,
  type Rejection,
  type ReserveLine,
  type ValidationLimits,
} from './types.js';

/** Detail messages are capped at this many characters. */
export const MAX_DETAIL_CHARS = 300;
const PREVIEW_CHARS = 32;

export function reject(reason: RejectReason, detail: string): Rejection {
  if (detail.length > MAX_DETAIL_CHARS) detail = `${detail.slice(0, MAX_DETAIL_CHARS - 1)}…`;
  return { ok: false, reason, detail };
}

/**
 * A short, quoted, escaped rendering of an untrusted string for a detail message: at most
 * ~32 characters of it, control and non-ASCII characters escaped, so a detail never echoes a
 * huge value nor breaks a log line.
 */
export function preview(s: string): string {
  const head = s.length > PREVIEW_CHARS ? s.slice(0, PREVIEW_CHARS) : s;
  // JSON.stringify escapes quotes, backslashes and control characters; escape non-ASCII too.
  const quoted = JSON.stringify(head).replace(
    /[^\x20-\x7E]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return s.length > PREVIEW_CHARS ? `${quoted}… (${s.length} chars)` : quoted;
}

/** True when `s` is longer than `maxBytes` in UTF-8, without encoding it in the common cases. */
export function exceedsUtf8Bytes(s: string, maxBytes: number): boolean {
  // Every UTF-16 code unit takes 1–3 UTF-8 bytes (a surrogate pair: 2 units, 4 bytes).
  if (s.length > maxBytes) return true;
  if (s.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(s, 'utf8') > maxBytes;
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Turns the flat `[name, value, name, value, …]` array into a Map, rejecting a malformed array,
 * an oversized name or value (before anything parses it) and a repeated name.
 * Returns the Map, or a Rejection.
 */
export function collectFields(
  fields: unknown,
  maxValueBytes: number,
): Map<string, string> | Rejection {
  if (!Array.isArray(fields)) return reject('invalid_field', 'entry is not a field/value array');
  const n = fields.length;
  if (n % 2 !== 0) {
    const last = fields[n - 1];
    const name =
      typeof last === 'string' && !exceedsUtf8Bytes(last, maxValueBytes) ? ` ${preview(last)}` : '';
    return reject(
      'invalid_field',
      `entry has an odd number of items (${n}): field${name} has no value`,
    );
  }
  const map = new Map<string, string>();
  for (let i = 0; i < n; i += 2) {
    const name: unknown = fields[i];
    const value: unknown = fields[i + 1];
    if (typeof name !== 'string' || typeof value !== 'string') {
      return reject(
        'invalid_field',
        `entry item ${typeof name !== 'string' ? i : i + 1} is not a string`,
      );
    }
    if (exceedsUtf8Bytes(name, maxValueBytes)) {
      return reject(
        'field_too_large',
        `a field name is ${utf8Bytes(name)} bytes; the limit is ${maxValueBytes} bytes`,
      );
    }
    if (exceedsUtf8Bytes(value, maxValueBytes)) {
      return reject(
        'field_too_large',
        `field ${preview(name)} is ${utf8Bytes(value)} bytes; the limit is ${maxValueBytes} bytes`,
      );
    }
    if (map.has(name))
      return reject('duplicate_field', `field ${preview(name)} appears more than once`);
    map.set(name, value);
  }
  return map;
}

const ID_RE = /^[\x21-\x7E]{1,128}$/;
const ID_RULE = `must be 1–${MAX_ID_LENGTH} visible ASCII characters (0x21–0x7E: no spaces, control or non-ASCII characters)`;

/** True for an id: 1–128 visible ASCII characters (0x21–0x7E). */
export function isValidId(s: string): boolean {
  return ID_RE.test(s);
}

/** Why `s` is not a valid id, for a detail message (only called on failure). */
export function idProblem(s: string): string {
  if (s.length === 0) return 'is empty';
  if (s.length > MAX_ID_LENGTH) return `is ${s.length} characters long`;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) {
      const what =
        c === 0x20
          ? 'a space'
          : c < 0x20 || c === 0x7f
            ? 'a control character'
            : 'a non-ASCII character';
      return `contains ${what} (U+${c.toString(16).toUpperCase().padStart(4, '0')}) at position ${i}`;
    }
  }
  return 'is invalid';
}

/** Validates an id field; `label` names it in the detail. */
export function checkId(label: string, value: string): Rejection | undefined {
  if (ID_RE.test(value)) return undefined;
  return reject('invalid_field', `${label} ${idProblem(value)}: ${ID_RULE}; got ${preview(value)}`);
}

const DIGITS_RE = /^[0-9]+$/;

/**
 * Parses a decimal integer string (ASCII digits only: no sign, no spaces, no fraction, no
 * exponent; leading zeros allowed) within [min, max]. Returns the number, or a message.
 */
export function parseDecimal(value: string, min: number, max: number): number | string {
  if (!DIGITS_RE.test(value)) {
    return `must be a decimal integer (digits only: no sign, spaces, fraction or exponent); got ${preview(value)}`;
  }
  const n = Number(value); // exact for every digit string whose value is ≤ 2^53
  if (n < min || n > max) return `must be between ${min} and ${max}; got ${preview(value)}`;
  return n;
}

/**
 * Bracket nesting depth of a JSON text, ignoring brackets inside strings; stops counting as
 * soon as `limit` is exceeded. Linear, no recursion: keeps pathological input (e.g. 10 000 '[')
 * away from JSON.parse.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

export type LinesFormat = 'objects' | 'tuples';

/**
 * Parses and validates a `lines` value.
 *  - `objects`: the producer format, `[{"sku": "A", "qty": 2}, …]` (unknown keys in a line ignored);
 *  - `tuples`: the internal canonical format, `[["A", 2], …]` (exactly two items per line).
 * Size is checked before parsing, and nesting depth before JSON.parse.
 */
export function parseLines(
  raw: string,
  format: LinesFormat,
  limits: Readonly<ValidationLimits>,
): ReserveLine[] | Rejection {
  if (exceedsUtf8Bytes(raw, limits.maxLinesBytes)) {
    return reject(
      'field_too_large',
      `field "lines" is ${utf8Bytes(raw)} bytes; the limit for lines is ${limits.maxLinesBytes} bytes`,
    );
  }
  if (jsonDepthExceeds(raw, MAX_LINES_JSON_DEPTH)) {
    return reject(
      'bad_lines',
      `field "lines" nests brackets deeper than ${MAX_LINES_JSON_DEPTH} levels`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return reject('bad_lines', `field "lines" is not valid JSON; got ${preview(raw)}`);
  }
  const shape = format === 'objects' ? '[{"sku": "…", "qty": n}, …]' : '[["SKU", qty], …]';
  if (!Array.isArray(parsed)) {
    return reject(
      'bad_lines',
      `field "lines" must be a JSON array ${shape}; got ${jsonKind(parsed)}`,
    );
  }
  const count = parsed.length;
  if (count === 0)
    return reject('bad_lines', 'field "lines" is an empty array; a reserve needs at least 1 line');
  if (count > limits.maxLines) {
    return reject(
      'too_many_lines',
      `field "lines" has ${count} lines; the limit is ${limits.maxLines}`,
    );
  }
  const out: ReserveLine[] = new Array<ReserveLine>(count);
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const item: unknown = parsed[i];
    let sku: unknown;
    let qty: unknown;
    let hasQty: boolean;
    if (format === 'objects') {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        return reject(
          'bad_lines',
          `lines[${i}] must be an object {"sku": "…", "qty": n}; got ${jsonKind(item)}`,
        );
      }
      const o = item as Record<string, unknown>;
      sku = Object.hasOwn(o, 'sku') ? o.sku : undefined;
      hasQty = Object.hasOwn(o, 'qty');
      qty = hasQty ? o.qty : undefined;
    } else {
      if (!Array.isArray(item) || item.length !== 2) {
        return reject(
          'bad_lines',
          `lines[${i}] must be a ["SKU", qty] pair; got ${jsonKind(item)}`,
        );
      }
      sku = item[0];
      qty = item[1];
      hasQty = true;
    }
    if (sku === undefined) return reject('bad_lines', `lines[${i}].sku is missing`);
    if (typeof sku !== 'string')
      return reject('bad_lines', `lines[${i}].sku must be a string; got ${jsonKind(sku)}`);
    if (!ID_RE.test(sku))
      return reject(
        'bad_lines',
        `lines[${i}].sku ${idProblem(sku)}: ${ID_RULE}; got ${preview(sku)}`,
      );
    if (!hasQty) return reject('bad_qty', `lines[${i}].qty is missing`);
    if (typeof qty !== 'number') {
      return reject(
        'bad_qty',
        `lines[${i}].qty must be a JSON integer (not a string); got ${jsonKind(qty)}`,
      );
    }
    if (!Number.isInteger(qty) || qty < 1 || qty > limits.maxLineQty) {
      return reject(
        'bad_qty',
        `lines[${i}].qty must be an integer between 1 and ${limits.maxLineQty}; got ${String(qty)}`,
      );
    }
    if (seen.has(sku))
      return reject('duplicate_sku', `SKU ${preview(sku)} appears in more than one line`);
    seen.add(sku);
    out[i] = [sku, qty];
  }
  return out;
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `the string ${preview(v)}`;
    case 'number':
      return `the number ${String(v)}`;
    case 'object':
      return 'an object';
    case 'undefined':
      return 'nothing';
    default:
      return typeof v;
  }
}

/** Reads an optional `hold_seconds` field. */
export function parseHoldSeconds(
  value: string | undefined,
  maxHoldSeconds: number,
): number | undefined | Rejection {
  if (value === undefined) return undefined;
  const n = parseDecimal(value, 1, maxHoldSeconds);
  return typeof n === 'number' ? n : reject('invalid_field', `field "hold_seconds" ${n}`);
}
