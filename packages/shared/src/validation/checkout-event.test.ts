import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  REJECT_REASONS,
  encodeInternalEvent,
  validateCheckoutEvent,
  type CheckoutEvent,
  type RejectReason,
  type Rejection,
  type ValidationLimits,
} from './index.js';
import {
  anyStrings,
  checkoutEventArb,
  nearlyValidCheckoutFields,
  plausibleFields,
  shortId,
  toProducerFields,
  payloadToEvent,
} from './arbitraries.testutil.js';

/** A valid reserve using the shorthand; tests override or drop single fields. */
const RESERVE: Record<string, string> = {
  type: 'reserve',
  event_id: 'e1',
  checkout_id: 'c1',
  user_id: 'u42',
  sku: 'SKU-1',
  qty: '1',
};

/** Builds a flat field array from an object; `undefined` values drop the field. */
function entry(
  base: Record<string, string>,
  over: Record<string, string | undefined> = {},
): string[] {
  const merged: Record<string, string | undefined> = { ...base, ...over };
  const out: string[] = [];
  for (const [k, v] of Object.entries(merged)) if (v !== undefined) out.push(k, v);
  return out;
}

/** A reserve using `lines` with the given raw value. */
function withLines(lines: string, over: Record<string, string | undefined> = {}): string[] {
  return entry(RESERVE, { sku: undefined, qty: undefined, lines, ...over });
}

function linesJson(
  n: number,
  mk: (i: number) => unknown = (i) => ({ sku: `S${i}`, qty: 1 }),
): string {
  return JSON.stringify(Array.from({ length: n }, (_, i) => mk(i)));
}

function expectReject(
  fields: string[],
  reason: RejectReason,
  limits?: Partial<ValidationLimits>,
): Rejection {
  const r = validateCheckoutEvent(fields, limits);
  if (r.ok) throw new Error(`expected ${reason}, got ok: ${JSON.stringify(r.value).slice(0, 200)}`);
  expect(r.reason, r.detail).toBe(reason);
  expect(r.detail.length).toBeGreaterThan(0);
  expect(r.detail.length).toBeLessThanOrEqual(300);
  return r;
}

function expectOk(fields: string[], limits?: Partial<ValidationLimits>): CheckoutEvent {
  const r = validateCheckoutEvent(fields, limits);
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.detail}`);
  return r.value;
}

const MB = 'x'.repeat(1024 * 1024);
const C129 = 'c'.repeat(129);

describe('validateCheckoutEvent: accepted forms', () => {
  it('reserve with the sku/qty shorthand (contract example)', () => {
    expect(
      expectOk([
        'type',
        'reserve',
        'event_id',
        'e1',
        'checkout_id',
        'c1',
        'user_id',
        'u42',
        'sku',
        'SKU-1',
        'qty',
        '1',
      ]),
    ).toEqual({
      type: 'reserve',
      eventId: 'e1',
      checkoutId: 'c1',
      userId: 'u42',
      lines: [['SKU-1', 1]],
    });
  });

  it('reserve with lines (contract example)', () => {
    const v = expectOk([
      'type',
      'reserve',
      'event_id',
      'e2',
      'checkout_id',
      'c2',
      'user_id',
      'u7',
      'lines',
      '[{"sku":"A","qty":2},{"sku":"B","qty":1}]',
    ]);
    expect(v).toEqual({
      type: 'reserve',
      eventId: 'e2',
      checkoutId: 'c2',
      userId: 'u7',
      lines: [
        ['A', 2],
        ['B', 1],
      ],
    });
    expect(v).not.toHaveProperty('holdSeconds');
  });

  it('confirm and cancel (contract examples)', () => {
    expect(expectOk(['type', 'confirm', 'event_id', 'e3', 'checkout_id', 'c1'])).toEqual({
      type: 'confirm',
      eventId: 'e3',
      checkoutId: 'c1',
    });
    expect(expectOk(['type', 'cancel', 'event_id', 'e4', 'checkout_id', 'c2'])).toEqual({
      type: 'cancel',
      eventId: 'e4',
      checkoutId: 'c2',
    });
  });

  it('extend with and without hold_seconds', () => {
    expect(expectOk(['type', 'extend', 'event_id', 'e5', 'checkout_id', 'c1'])).toEqual({
      type: 'extend',
      eventId: 'e5',
      checkoutId: 'c1',
    });
    expect(
      expectOk(['type', 'extend', 'event_id', 'e6', 'checkout_id', 'c1', 'hold_seconds', '300']),
    ).toEqual({
      type: 'extend',
      eventId: 'e6',
      checkoutId: 'c1',
      holdSeconds: 300,
    });
  });

  it('reply_to (contract v2) on every type, 1 and 64 characters', () => {
    expect(
      expectOk(['type', 'cancel', 'event_id', 'e4', 'checkout_id', 'c2', 'reply_to', 'web-7']),
    ).toEqual({ type: 'cancel', eventId: 'e4', checkoutId: 'c2', replyTo: 'web-7' });
    expect(expectOk(entry(RESERVE, { reply_to: 'a' }))).toMatchObject({ replyTo: 'a' });
    const long = `A_z-9${'x'.repeat(59)}`;
    expect(expectOk(entry(RESERVE, { reply_to: long }))).toMatchObject({ replyTo: long });
    expect(
      expectOk(['type', 'extend', 'event_id', 'e', 'checkout_id', 'c', 'reply_to', 'w']),
    ).toMatchObject({ replyTo: 'w' });
  });

  it('reserve with hold_seconds, including the bounds of its form', () => {
    expect(expectOk(entry(RESERVE, { hold_seconds: '600' }))).toMatchObject({ holdSeconds: 600 });
    expect(expectOk(entry(RESERVE, { hold_seconds: '1' }))).toMatchObject({ holdSeconds: 1 });
    expect(expectOk(entry(RESERVE, { hold_seconds: '1000000000' }))).toMatchObject({
      holdSeconds: 1_000_000_000,
    });
    expect(expectOk(entry(RESERVE, { hold_seconds: '0060' }))).toMatchObject({ holdSeconds: 60 });
  });

  it('ids at the edges: 1 and 128 characters, every visible ASCII character', () => {
    const visible = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) =>
      String.fromCharCode(0x21 + i),
    ).join('');
    expect(visible).toHaveLength(94);
    const v = expectOk(
      entry(RESERVE, {
        event_id: 'e',
        checkout_id: 'c'.repeat(128),
        user_id: visible,
        sku: '"\\{}[]',
      }),
    );
    expect(v).toMatchObject({
      eventId: 'e',
      checkoutId: 'c'.repeat(128),
      userId: visible,
      lines: [['"\\{}[]', 1]],
    });
  });

  it('qty bounds and leading zeros (shorthand)', () => {
    expect(expectOk(entry(RESERVE, { qty: '10000' }))).toMatchObject({ lines: [['SKU-1', 10000]] });
    expect(expectOk(entry(RESERVE, { qty: '007' }))).toMatchObject({ lines: [['SKU-1', 7]] });
  });

  it('qty bounds inside lines; JSON numbers equal to an integer are integers', () => {
    expect(expectOk(withLines('[{"sku":"A","qty":10000}]'))).toMatchObject({
      lines: [['A', 10000]],
    });
    expect(expectOk(withLines('[{"sku":"A","qty":1.0}]'))).toMatchObject({ lines: [['A', 1]] });
    expect(expectOk(withLines('[{"sku":"A","qty":1e3}]'))).toMatchObject({ lines: [['A', 1000]] });
  });

  it('50 lines, whitespace in the JSON, unknown keys inside a line', () => {
    expect(expectOk(withLines(linesJson(50)))).toMatchObject({
      lines: Array.from({ length: 50 }, (_, i) => [`S${i}`, 1]),
    });
    expect(
      expectOk(withLines(' [ {"qty": 3, "sku": "A", "note": {"x": [1, 2]}, "price": 9.5} ]\n')),
    ).toMatchObject({ lines: [['A', 3]] });
  });

  it('a line key named __proto__ is ignored like any unknown key', () => {
    expect(expectOk(withLines('[{"sku":"A","qty":2,"__proto__":{"sku":"B"}}]'))).toMatchObject({
      lines: [['A', 2]],
    });
  });

  it('unknown fields are ignored, including ones that belong to other types', () => {
    expect(expectOk(entry(RESERVE, { trace: 'abc', Type: 'restock', src: '' }))).toMatchObject({
      type: 'reserve',
    });
    expect(
      expectOk([
        'type',
        'confirm',
        'event_id',
        'e',
        'checkout_id',
        'c',
        'user_id',
        'bad id',
        'lines',
        'nope',
        'qty',
        '-1',
        'hold_seconds',
        'x',
      ]),
    ).toEqual({
      type: 'confirm',
      eventId: 'e',
      checkoutId: 'c',
    });
  });

  it('field order does not matter', () => {
    expect(
      expectOk([
        'qty',
        '2',
        'sku',
        'A',
        'user_id',
        'u',
        'checkout_id',
        'c',
        'event_id',
        'e',
        'type',
        'reserve',
      ]),
    ).toEqual({
      type: 'reserve',
      eventId: 'e',
      checkoutId: 'c',
      userId: 'u',
      lines: [['A', 2]],
    });
  });

  it('a value of exactly maxValueBytes (UTF-8) is accepted', () => {
    expectOk(entry(RESERVE, { note: 'x'.repeat(65536) }));
    expectOk(entry(RESERVE, { note: '€'.repeat(21845) + 'x' })); // 65 535 + 1 bytes
  });

  it('honours custom limits', () => {
    expectReject(withLines(linesJson(3)), 'too_many_lines', { maxLines: 2 });
    expectReject(entry(RESERVE, { qty: '6' }), 'bad_qty', { maxLineQty: 5 });
    expectReject(entry(RESERVE, { note: 'x'.repeat(11) }), 'field_too_large', {
      maxValueBytes: 10,
    });
    expect(expectOk(entry(RESERVE, { qty: '20000' }), { maxLineQty: 20000 })).toMatchObject({
      lines: [['SKU-1', 20000]],
    });
  });
});

type Case = [
  name: string,
  fields: string[],
  reason: RejectReason,
  limits?: Partial<ValidationLimits>,
];

/** The malformed corpus: every entry must yield exactly its reason. */
const CORPUS: Case[] = [
  // missing fields
  ['missing type', entry(RESERVE, { type: undefined }), 'missing_field'],
  ['missing event_id', entry(RESERVE, { event_id: undefined }), 'missing_field'],
  ['missing checkout_id', entry(RESERVE, { checkout_id: undefined }), 'missing_field'],
  ['confirm without checkout_id', ['type', 'confirm', 'event_id', 'e'], 'missing_field'],
  ['missing user_id on reserve', entry(RESERVE, { user_id: undefined }), 'missing_field'],
  [
    'reserve with neither lines nor sku/qty',
    entry(RESERVE, { sku: undefined, qty: undefined }),
    'missing_field',
  ],
  ['sku without qty', entry(RESERVE, { qty: undefined }), 'missing_field'],
  ['qty without sku', entry(RESERVE, { sku: undefined }), 'missing_field'],
  ['empty entry', [], 'missing_field'],
  // empty strings
  ['empty type', entry(RESERVE, { type: '' }), 'unknown_type'],
  ['empty event_id', entry(RESERVE, { event_id: '' }), 'invalid_field'],
  ['empty checkout_id', entry(RESERVE, { checkout_id: '' }), 'invalid_field'],
  ['empty user_id', entry(RESERVE, { user_id: '' }), 'invalid_field'],
  ['empty sku', entry(RESERVE, { sku: '' }), 'invalid_field'],
  ['empty qty', entry(RESERVE, { qty: '' }), 'bad_qty'],
  ['empty lines', withLines(''), 'bad_lines'],
  ['empty hold_seconds', entry(RESERVE, { hold_seconds: '' }), 'invalid_field'],
  // ids
  ['129-char event_id', entry(RESERVE, { event_id: 'e'.repeat(129) }), 'invalid_field'],
  ['129-char checkout_id', entry(RESERVE, { checkout_id: C129 }), 'invalid_field'],
  ['129-char user_id', entry(RESERVE, { user_id: 'u'.repeat(129) }), 'invalid_field'],
  ['129-char sku (shorthand)', entry(RESERVE, { sku: 's'.repeat(129) }), 'invalid_field'],
  ['event_id with a space', entry(RESERVE, { event_id: 'e 1' }), 'invalid_field'],
  ['event_id with a leading space', entry(RESERVE, { event_id: ' e1' }), 'invalid_field'],
  ['checkout_id with a newline', entry(RESERVE, { checkout_id: 'c1\n' }), 'invalid_field'],
  ['checkout_id with a NUL', entry(RESERVE, { checkout_id: 'c\u00001' }), 'invalid_field'],
  ['user_id with a tab', entry(RESERVE, { user_id: 'u\t42' }), 'invalid_field'],
  ['user_id with DEL', entry(RESERVE, { user_id: 'u\u007f' }), 'invalid_field'],
  ['user_id with unicode', entry(RESERVE, { user_id: 'jürgen' }), 'invalid_field'],
  ['sku with an emoji', entry(RESERVE, { sku: 'SKU-🔥' }), 'invalid_field'],
  ['event_id with a non-breaking space', entry(RESERVE, { event_id: 'e\u00a01' }), 'invalid_field'],
  [
    'confirm with a 129-char checkout_id',
    ['type', 'confirm', 'event_id', 'e', 'checkout_id', C129],
    'invalid_field',
  ],
  // types
  ['unknown type', entry(RESERVE, { type: 'purchase' }), 'unknown_type'],
  ['type in upper case', entry(RESERVE, { type: 'Reserve' }), 'unknown_type'],
  ['type with a trailing space', entry(RESERVE, { type: 'reserve ' }), 'unknown_type'],
  [
    'restock on the checkout stream',
    ['type', 'restock', 'event_id', 'a1', 'sku', 'A', 'qty', '5'],
    'wrong_stream',
  ],
  [
    'set_limit on the checkout stream',
    ['type', 'set_limit', 'event_id', 'a2', 'sku', 'A', 'per_user', '2'],
    'wrong_stream',
  ],
  // duplicates
  ['duplicate event_id', [...entry(RESERVE), 'event_id', 'e2'], 'duplicate_field'],
  ['duplicate type with the same value', [...entry(RESERVE), 'type', 'reserve'], 'duplicate_field'],
  ['duplicate unknown field', [...entry(RESERVE), 'x', '1', 'x', '1'], 'duplicate_field'],
  ['duplicate qty', [...entry(RESERVE), 'qty', '2'], 'duplicate_field'],
  // sizes
  ['a 1 MB unknown field', entry(RESERVE, { blob: MB }), 'field_too_large'],
  ['a 1 MB lines field', withLines(`[${MB}]`), 'field_too_large'],
  ['a 1 MB field name', [...entry(RESERVE), MB, 'v'], 'field_too_large'],
  ['a 1 MB event_id', entry(RESERVE, { event_id: MB }), 'field_too_large'],
  ['65 537-byte value', entry(RESERVE, { note: 'x'.repeat(65537) }), 'field_too_large'],
  [
    'value over the limit only in UTF-8 bytes',
    entry(RESERVE, { note: '€'.repeat(21846) }),
    'field_too_large',
  ],
  ['100 000 "[" in lines', withLines('['.repeat(100_000)), 'field_too_large'],
  [
    'lines of 16 385 bytes',
    withLines(`[${' '.repeat(16382)}]`.padEnd(16385, ' ')),
    'field_too_large',
  ],
  ['10 000 lines', withLines(linesJson(10_000)), 'field_too_large'],
  // lines
  ['10 000 "[" in lines (under the byte limit)', withLines('['.repeat(10_000)), 'bad_lines'],
  ['8 000 balanced levels of nesting', withLines('['.repeat(8000) + ']'.repeat(8000)), 'bad_lines'],
  [
    'nesting inside an unknown key',
    withLines(`[{"sku":"A","qty":1,"x":${'['.repeat(20)}${']'.repeat(20)}}]`),
    'bad_lines',
  ],
  ['bad JSON: truncated', withLines('[{"sku":"A","qty":1}'), 'bad_lines'],
  ['bad JSON: single quotes', withLines("[{'sku':'A','qty':1}]"), 'bad_lines'],
  ['bad JSON: trailing comma', withLines('[{"sku":"A","qty":1},]'), 'bad_lines'],
  ['bad JSON: not JSON at all', withLines('A:1,B:2'), 'bad_lines'],
  ['lines as an object instead of an array', withLines('{"sku":"A","qty":1}'), 'bad_lines'],
  ['lines as a JSON string', withLines('"A"'), 'bad_lines'],
  ['lines as null', withLines('null'), 'bad_lines'],
  ['lines as a number', withLines('3'), 'bad_lines'],
  ['lines as an empty array', withLines('[]'), 'bad_lines'],
  ['line that is a number', withLines('[1]'), 'bad_lines'],
  ['line that is a tuple', withLines('[["A",1]]'), 'bad_lines'],
  ['line that is null', withLines('[null]'), 'bad_lines'],
  ['line without sku', withLines('[{"qty":1}]'), 'bad_lines'],
  ['line with a numeric sku', withLines('[{"sku":42,"qty":1}]'), 'bad_lines'],
  ['line with an empty sku', withLines('[{"sku":"","qty":1}]'), 'bad_lines'],
  ['line with a sku containing a space', withLines('[{"sku":"A B","qty":1}]'), 'bad_lines'],
  [
    'line with a 129-char sku',
    withLines(JSON.stringify([{ sku: 's'.repeat(129), qty: 1 }])),
    'bad_lines',
  ],
  ['51 lines', withLines(linesJson(51)), 'too_many_lines'],
  [
    '10 000 lines with raised byte limits',
    withLines(linesJson(10_000)),
    'too_many_lines',
    { maxValueBytes: 1 << 20, maxLinesBytes: 1 << 20 },
  ],
  [
    'repeated SKU',
    withLines('[{"sku":"A","qty":1},{"sku":"B","qty":1},{"sku":"A","qty":2}]'),
    'duplicate_sku',
  ],
  // qty inside lines
  ['line without qty', withLines('[{"sku":"A"}]'), 'bad_qty'],
  ['qty as a string inside JSON', withLines('[{"sku":"A","qty":"1"}]'), 'bad_qty'],
  ['qty null inside JSON', withLines('[{"sku":"A","qty":null}]'), 'bad_qty'],
  ['qty 0 inside JSON', withLines('[{"sku":"A","qty":0}]'), 'bad_qty'],
  ['negative qty inside JSON', withLines('[{"sku":"A","qty":-1}]'), 'bad_qty'],
  ['fractional qty inside JSON', withLines('[{"sku":"A","qty":1.5}]'), 'bad_qty'],
  ['qty 10 001 inside JSON', withLines('[{"sku":"A","qty":10001}]'), 'bad_qty'],
  ['huge qty inside JSON', withLines('[{"sku":"A","qty":1e400}]'), 'bad_qty'],
  ['qty as a boolean inside JSON', withLines('[{"sku":"A","qty":true}]'), 'bad_qty'],
  // shorthand qty
  ['qty 0', entry(RESERVE, { qty: '0' }), 'bad_qty'],
  ['qty -1', entry(RESERVE, { qty: '-1' }), 'bad_qty'],
  ['qty 1.5', entry(RESERVE, { qty: '1.5' }), 'bad_qty'],
  ['qty 1.0', entry(RESERVE, { qty: '1.0' }), 'bad_qty'],
  ['qty 1e3', entry(RESERVE, { qty: '1e3' }), 'bad_qty'],
  ['qty " 1"', entry(RESERVE, { qty: ' 1' }), 'bad_qty'],
  ['qty "1 "', entry(RESERVE, { qty: '1 ' }), 'bad_qty'],
  ['qty "+1"', entry(RESERVE, { qty: '+1' }), 'bad_qty'],
  ['qty 10001', entry(RESERVE, { qty: '10001' }), 'bad_qty'],
  ['huge qty', entry(RESERVE, { qty: '9'.repeat(400) }), 'bad_qty'],
  ['hex qty', entry(RESERVE, { qty: '0x10' }), 'bad_qty'],
  ['fullwidth digit qty', entry(RESERVE, { qty: '１' }), 'bad_qty'],
  ['qty Infinity', entry(RESERVE, { qty: 'Infinity' }), 'bad_qty'],
  // ambiguity
  [
    'lines and sku/qty',
    withLines('[{"sku":"A","qty":1}]', { sku: 'A', qty: '1' }),
    'ambiguous_lines',
  ],
  ['lines and sku', withLines('[{"sku":"A","qty":1}]', { sku: 'A' }), 'ambiguous_lines'],
  ['lines and qty', withLines('[{"sku":"A","qty":1}]', { qty: '1' }), 'ambiguous_lines'],
  ['bad lines and sku/qty', withLines('nope', { sku: 'A', qty: '1' }), 'ambiguous_lines'],
  // hold_seconds
  ['hold_seconds 0', entry(RESERVE, { hold_seconds: '0' }), 'invalid_field'],
  ['hold_seconds negative', entry(RESERVE, { hold_seconds: '-5' }), 'invalid_field'],
  ['hold_seconds fractional', entry(RESERVE, { hold_seconds: '1.5' }), 'invalid_field'],
  ['hold_seconds with an exponent', entry(RESERVE, { hold_seconds: '1e3' }), 'invalid_field'],
  ['hold_seconds over 1e9', entry(RESERVE, { hold_seconds: '1000000001' }), 'invalid_field'],
  [
    'extend with hold_seconds "abc"',
    ['type', 'extend', 'event_id', 'e', 'checkout_id', 'c', 'hold_seconds', 'abc'],
    'invalid_field',
  ],
  // reply_to (contract v2): it names a stream, so only [A-Za-z0-9_-]{1,64}
  ['reply_to empty', entry(RESERVE, { reply_to: '' }), 'invalid_field'],
  ['reply_to with a space', entry(RESERVE, { reply_to: 'web 1' }), 'invalid_field'],
  ['reply_to with a hash tag', entry(RESERVE, { reply_to: '{main}' }), 'invalid_field'],
  ['reply_to of 65 characters', entry(RESERVE, { reply_to: 'x'.repeat(65) }), 'invalid_field'],
  [
    'confirm with reply_to "a:b"',
    ['type', 'confirm', 'event_id', 'e', 'checkout_id', 'c', 'reply_to', 'a:b'],
    'invalid_field',
  ],
  // array shape
  ['odd number of items', [...entry(RESERVE), 'dangling'], 'invalid_field'],
];

describe('validateCheckoutEvent: malformed corpus', () => {
  it('has at least 35 entries and covers every reason', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(35);
    expect(new Set(CORPUS.map((c) => c[2]))).toEqual(new Set(REJECT_REASONS));
  });

  it.each(CORPUS)('%s → %s', (_name, fields, reason, limits) => {
    const r = expectReject(fields, reason, limits);
    // A detail never echoes a huge value.
    expect(r.detail).not.toContain('x'.repeat(100));
    expect(r.detail).not.toContain('['.repeat(100));
  });
});

describe('validateCheckoutEvent: detail messages', () => {
  const detail = (fields: string[]) => {
    const r = validateCheckoutEvent(fields);
    if (r.ok) throw new Error('expected a rejection');
    return r.detail;
  };

  it('name the field', () => {
    expect(detail(entry(RESERVE, { event_id: undefined }))).toContain('event_id');
    expect(detail(entry(RESERVE, { checkout_id: 'a b' }))).toContain('checkout_id');
    expect(detail(entry(RESERVE, { user_id: 'ü' }))).toContain('user_id');
    expect(detail(entry(RESERVE, { qty: '1e3' }))).toContain('qty');
    expect(detail(entry(RESERVE, { hold_seconds: '0' }))).toContain('hold_seconds');
    expect(detail(entry(RESERVE, { blob: MB }))).toContain('blob');
    expect(detail(withLines('[{"sku":"A","qty":1},{"sku":"B","qty":"2"}]'))).toContain(
      'lines[1].qty',
    );
    expect(detail([...entry(RESERVE), 'user_id', 'u'])).toContain('user_id');
  });

  it('explain what is wrong with an id', () => {
    expect(detail(entry(RESERVE, { event_id: 'e 1' }))).toContain('a space');
    expect(detail(entry(RESERVE, { event_id: 'e\n1' }))).toContain('a control character');
    expect(detail(entry(RESERVE, { event_id: 'é' }))).toContain('non-ASCII');
    expect(detail(entry(RESERVE, { event_id: 'e'.repeat(129) }))).toContain('129 characters');
    expect(detail(entry(RESERVE, { event_id: '' }))).toContain('empty');
  });

  it('escape control characters and truncate long values', () => {
    const d = detail(entry(RESERVE, { checkout_id: `\n${'y'.repeat(5000)}` }));
    expect(d).not.toContain('\n');
    expect(d).toContain('\\n');
    expect(d).toContain('5001 chars');
    expect(d.length).toBeLessThanOrEqual(300);
    expect(detail(entry(RESERVE, { type: 'z'.repeat(100_000) })).length).toBeLessThanOrEqual(300);
  });

  it('report the size of an oversized value, not the value', () => {
    const d = detail(entry(RESERVE, { blob: MB }));
    expect(d).toContain(String(MB.length));
    expect(d).toContain('65536');
  });
});

describe('validateCheckoutEvent: cost', () => {
  it('rejects a 1 MB field without parsing it', () => {
    const fields = withLines(`[${'{"sku":"A","qty":1},'.repeat(60_000)}{}]`);
    const t = performance.now();
    for (let i = 0; i < 1000; i++) expect(validateCheckoutEvent(fields).ok).toBe(false);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('rejects deep nesting under the byte limit cheaply', () => {
    const fields = withLines('['.repeat(16_000) + ']'.repeat(300));
    const t = performance.now();
    for (let i = 0; i < 1000; i++) expect(validateCheckoutEvent(fields).ok).toBe(false);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('validates ordinary events at well over tens of thousands per second', () => {
    const a = withLines('[{"sku":"A","qty":2},{"sku":"B","qty":1},{"sku":"C","qty":3}]', {
      hold_seconds: '600',
    });
    const b = entry(RESERVE);
    const c = ['type', 'confirm', 'event_id', 'e3', 'checkout_id', 'c1'];
    const t = performance.now();
    for (let i = 0; i < 30_000; i++) {
      validateCheckoutEvent(a);
      validateCheckoutEvent(b);
      validateCheckoutEvent(c);
    }
    expect(performance.now() - t).toBeLessThan(1000); // ≥ 90 000 events/s even on a slow CI box
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

describe('validateCheckoutEvent: properties', () => {
  it('never throws and always returns ok or a documented reason with a short detail', () => {
    fc.assert(
      fc.property(fc.oneof(plausibleFields, anyStrings, nearlyValidCheckoutFields), (fields) => {
        const r = validateCheckoutEvent(fields);
        if (r.ok) {
          expect(['reserve', 'confirm', 'cancel', 'extend']).toContain(r.value.type);
        } else {
          expect(REJECT_REASONS).toContain(r.reason);
          expect(r.detail.length).toBeGreaterThan(0);
          expect(r.detail.length).toBeLessThanOrEqual(300);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on values that are not even strings', () => {
    const junk = fc.array(fc.oneof(fc.string(), fc.anything()), { maxLength: 10 });
    fc.assert(
      fc.property(junk, (fields) => {
        const r = validateCheckoutEvent(fields as string[]);
        if (!r.ok) expect(REJECT_REASONS).toContain(r.reason);
      }),
    );
    for (const bad of [null, undefined, 42, 'type', {}]) {
      expect(validateCheckoutEvent(bad as unknown as string[])).toMatchObject({
        ok: false,
        reason: 'invalid_field',
      });
    }
  });

  it('accepts every valid event as a producer would send it, and gives it back unchanged', () => {
    const extra = fc
      .array(fc.tuple(fc.constantFrom('trace', 'note', 'x-source'), shortId), { maxLength: 2 })
      .map((p) => {
        const seen = new Map(p);
        return [...seen].flat();
      });
    fc.assert(
      fc.property(checkoutEventArb, fc.boolean(), extra, (ev, shorthand, more) => {
        expect(validateCheckoutEvent(toProducerFields(ev, shorthand, more))).toStrictEqual({
          ok: true,
          value: ev,
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('whatever it accepts survives the internal stream unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(plausibleFields, nearlyValidCheckoutFields), (fields) => {
        const r = validateCheckoutEvent(fields);
        if (!r.ok) return;
        expect(payloadToEvent(encodeInternalEvent(r.value, '1700000000000-0'))).toStrictEqual({
          ev: r.value,
          srcId: '1700000000000-0',
        });
      }),
      { numRuns: 2000 },
    );
  });
});
