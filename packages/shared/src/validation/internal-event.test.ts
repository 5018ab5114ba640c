import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  REJECT_REASONS,
  decodeInternalEvent,
  encodeInternalEvent,
  encodeLines,
  type RejectReason,
  type ValidationLimits,
} from './index.js';
import { anyStrings, checkoutEventArb, mutated, plausibleFields } from './arbitraries.testutil.js';

const SRC = '1700000000000-0';

describe('encodeInternalEvent', () => {
  it('writes the documented fields, lines as canonical JSON tuples', () => {
    expect(
      encodeInternalEvent(
        {
          type: 'reserve',
          eventId: 'e2',
          checkoutId: 'c2',
          userId: 'u7',
          lines: [
            ['A', 2],
            ['B', 1],
          ],
          holdSeconds: 90,
        },
        SRC,
      ),
    ).toEqual([
      'type',
      'reserve',
      'event_id',
      'e2',
      'checkout_id',
      'c2',
      'user_id',
      'u7',
      'lines',
      '[["A",2],["B",1]]',
      'hold_seconds',
      '90',
      'src_id',
      SRC,
    ]);
    expect(
      encodeInternalEvent({ type: 'confirm', eventId: 'e3', checkoutId: 'c1' }, '5-1'),
    ).toEqual(['type', 'confirm', 'event_id', 'e3', 'checkout_id', 'c1', 'src_id', '5-1']);
    expect(encodeInternalEvent({ type: 'extend', eventId: 'e4', checkoutId: 'c1' }, '5-2')).toEqual(
      ['type', 'extend', 'event_id', 'e4', 'checkout_id', 'c1', 'src_id', '5-2'],
    );
  });

  it('escapes SKUs that need it in JSON', () => {
    expect(encodeLines([['a"b\\c', 1]])).toBe('[["a\\"b\\\\c",1]]');
  });
});

describe('decodeInternalEvent', () => {
  it('decodes what encode wrote', () => {
    expect(
      decodeInternalEvent(['type', 'cancel', 'event_id', 'e', 'checkout_id', 'c', 'src_id', SRC]),
    ).toStrictEqual({
      ok: true,
      value: { type: 'cancel', eventId: 'e', checkoutId: 'c', srcId: SRC },
    });
  });

  const R = ['type', 'reserve', 'event_id', 'e', 'checkout_id', 'c', 'user_id', 'u', 'src_id', SRC];
  const cases: Array<[string, string[], RejectReason, Partial<ValidationLimits>?]> = [
    ['missing src_id', ['type', 'confirm', 'event_id', 'e', 'checkout_id', 'c'], 'missing_field'],
    ['missing lines on reserve', R, 'missing_field'],
    [
      'missing user_id on reserve',
      ['type', 'reserve', 'event_id', 'e', 'checkout_id', 'c', 'lines', '[["A",1]]', 'src_id', SRC],
      'missing_field',
    ],
    ['missing type', ['event_id', 'e', 'checkout_id', 'c', 'src_id', SRC], 'missing_field'],
    ['shorthand is not an internal form', [...R, 'sku', 'A', 'qty', '1'], 'missing_field'],
    [
      'bad src_id',
      ['type', 'confirm', 'event_id', 'e', 'checkout_id', 'c', 'src_id', 'abc'],
      'invalid_field',
    ],
    [
      'bad event_id',
      ['type', 'confirm', 'event_id', 'e e', 'checkout_id', 'c', 'src_id', SRC],
      'invalid_field',
    ],
    [
      'bad hold_seconds',
      ['type', 'extend', 'event_id', 'e', 'checkout_id', 'c', 'hold_seconds', '0', 'src_id', SRC],
      'invalid_field',
    ],
    [
      'unknown type',
      ['type', 'purchase', 'event_id', 'e', 'checkout_id', 'c', 'src_id', SRC],
      'unknown_type',
    ],
    [
      'admin type',
      ['type', 'restock', 'event_id', 'e', 'sku', 'A', 'qty', '1', 'src_id', SRC],
      'wrong_stream',
    ],
    ['duplicate field', [...R, 'lines', '[["A",1]]', 'lines', '[["A",1]]'], 'duplicate_field'],
    ['producer-format lines', [...R, 'lines', '[{"sku":"A","qty":1}]'], 'bad_lines'],
    ['a three-item tuple', [...R, 'lines', '[["A",1,2]]'], 'bad_lines'],
    ['a tuple with a bad sku', [...R, 'lines', '[["A B",1]]'], 'bad_lines'],
    ['not JSON', [...R, 'lines', '[["A",1]'], 'bad_lines'],
    ['deep nesting', [...R, 'lines', '['.repeat(5000)], 'bad_lines'],
    ['qty 0', [...R, 'lines', '[["A",0]]'], 'bad_qty'],
    ['qty as a string', [...R, 'lines', '[["A","1"]]'], 'bad_qty'],
    [
      'too many lines',
      [...R, 'lines', JSON.stringify(Array.from({ length: 51 }, (_, i) => [`S${i}`, 1]))],
      'too_many_lines',
    ],
    ['duplicate sku', [...R, 'lines', '[["A",1],["A",2]]'], 'duplicate_sku'],
    ['oversized lines', [...R, 'lines', `[${' '.repeat(20_000)}]`], 'field_too_large'],
    ['oversized value', [...R, 'lines', '[["A",1]]', 'x', 'y'.repeat(70_000)], 'field_too_large'],
  ];

  it.each(cases)('%s → %s', (_name, fields, reason, limits) => {
    const r = decodeInternalEvent(fields, limits);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason, r.detail).toBe(reason);
  });

  it('never throws on arbitrary input', () => {
    const validInternal = fc
      .tuple(checkoutEventArb, fc.constantFrom(SRC, '0-0', '99-12'))
      .map(([ev, id]) => encodeInternalEvent(ev, id));
    fc.assert(
      fc.property(fc.oneof(plausibleFields, anyStrings, mutated(validInternal)), (fields) => {
        const r = decodeInternalEvent(fields);
        if (!r.ok) {
          expect(REJECT_REASONS).toContain(r.reason);
          expect(r.detail.length).toBeLessThanOrEqual(300);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('encode/decode round trip', () => {
  it('decode(encode(ev, srcId)) is ev with srcId', () => {
    const srcId = fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`);
    fc.assert(
      fc.property(checkoutEventArb, srcId, (ev, id) => {
        expect(decodeInternalEvent(encodeInternalEvent(ev, id))).toStrictEqual({
          ok: true,
          value: { ...ev, srcId: id },
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('encoding is deterministic (same event, same fields)', () => {
    fc.assert(
      fc.property(checkoutEventArb, (ev) => {
        expect(encodeInternalEvent(structuredClone(ev), SRC)).toEqual(encodeInternalEvent(ev, SRC));
      }),
    );
  });
});
