import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  REJECT_REASONS,
  validateAdminEvent,
  type RejectReason,
  type ValidationLimits,
} from './index.js';
import { adminFieldsArb, anyStrings, mutated, plausibleFields } from './arbitraries.testutil.js';

const RESTOCK: Record<string, string> = {
  type: 'restock',
  event_id: 'a1',
  sku: 'SKU-1',
  qty: '100',
};
const SET_LIMIT: Record<string, string> = {
  type: 'set_limit',
  event_id: 'a2',
  sku: 'SKU-1',
  per_user: '2',
};

function entry(
  base: Record<string, string>,
  over: Record<string, string | undefined> = {},
): string[] {
  const merged: Record<string, string | undefined> = { ...base, ...over };
  const out: string[] = [];
  for (const [k, v] of Object.entries(merged)) if (v !== undefined) out.push(k, v);
  return out;
}

describe('validateAdminEvent: accepted forms', () => {
  it('restock', () => {
    expect(validateAdminEvent(entry(RESTOCK))).toStrictEqual({
      ok: true,
      value: { type: 'restock', eventId: 'a1', sku: 'SKU-1', qty: 100 },
    });
    expect(validateAdminEvent(entry(RESTOCK, { qty: '1' }))).toMatchObject({
      ok: true,
      value: { qty: 1 },
    });
    expect(validateAdminEvent(entry(RESTOCK, { qty: '1000000000' }))).toMatchObject({
      ok: true,
      value: { qty: 1_000_000_000 },
    });
  });

  it('set_limit, including 0 = no limit and the upper bound', () => {
    expect(validateAdminEvent(entry(SET_LIMIT))).toStrictEqual({
      ok: true,
      value: { type: 'set_limit', eventId: 'a2', sku: 'SKU-1', perUser: 2 },
    });
    expect(validateAdminEvent(entry(SET_LIMIT, { per_user: '0' }))).toMatchObject({
      ok: true,
      value: { perUser: 0 },
    });
    expect(validateAdminEvent(entry(SET_LIMIT, { per_user: '1000000' }))).toMatchObject({
      ok: true,
      value: { perUser: 1_000_000 },
    });
  });

  it('ignores unknown fields and the other type’s fields', () => {
    expect(
      validateAdminEvent(entry(RESTOCK, { per_user: 'x', checkout_id: 'bad id', note: 'hi' })),
    ).toMatchObject({ ok: true });
    expect(validateAdminEvent(entry(SET_LIMIT, { qty: '-1' }))).toMatchObject({ ok: true });
  });
});

type Case = [
  name: string,
  fields: string[],
  reason: RejectReason,
  limits?: Partial<ValidationLimits>,
];

const CORPUS: Case[] = [
  ['missing type', entry(RESTOCK, { type: undefined }), 'missing_field'],
  ['missing event_id', entry(RESTOCK, { event_id: undefined }), 'missing_field'],
  ['missing sku', entry(RESTOCK, { sku: undefined }), 'missing_field'],
  ['restock without qty', entry(RESTOCK, { qty: undefined }), 'missing_field'],
  ['set_limit without per_user', entry(SET_LIMIT, { per_user: undefined }), 'missing_field'],
  [
    'set_limit with qty instead of per_user',
    entry(SET_LIMIT, { per_user: undefined, qty: '2' }),
    'missing_field',
  ],
  ['empty type', entry(RESTOCK, { type: '' }), 'unknown_type'],
  ['unknown type', entry(RESTOCK, { type: 'restock_all' }), 'unknown_type'],
  [
    'reserve on the admin stream',
    [
      'type',
      'reserve',
      'event_id',
      'e1',
      'checkout_id',
      'c1',
      'user_id',
      'u',
      'sku',
      'A',
      'qty',
      '1',
    ],
    'wrong_stream',
  ],
  [
    'confirm on the admin stream',
    ['type', 'confirm', 'event_id', 'e1', 'checkout_id', 'c1'],
    'wrong_stream',
  ],
  [
    'cancel on the admin stream',
    ['type', 'cancel', 'event_id', 'e1', 'checkout_id', 'c1'],
    'wrong_stream',
  ],
  [
    'extend on the admin stream',
    ['type', 'extend', 'event_id', 'e1', 'checkout_id', 'c1'],
    'wrong_stream',
  ],
  ['empty event_id', entry(RESTOCK, { event_id: '' }), 'invalid_field'],
  ['129-char event_id', entry(RESTOCK, { event_id: 'e'.repeat(129) }), 'invalid_field'],
  ['sku with a space', entry(RESTOCK, { sku: 'SKU 1' }), 'invalid_field'],
  ['sku with unicode', entry(RESTOCK, { sku: 'SKÜ' }), 'invalid_field'],
  ['empty sku', entry(RESTOCK, { sku: '' }), 'invalid_field'],
  ['per_user negative', entry(SET_LIMIT, { per_user: '-1' }), 'invalid_field'],
  ['per_user over 1 000 000', entry(SET_LIMIT, { per_user: '1000001' }), 'invalid_field'],
  ['per_user fractional', entry(SET_LIMIT, { per_user: '2.5' }), 'invalid_field'],
  ['per_user empty', entry(SET_LIMIT, { per_user: '' }), 'invalid_field'],
  ['odd number of items', [...entry(RESTOCK), 'x'], 'invalid_field'],
  ['restock qty 0', entry(RESTOCK, { qty: '0' }), 'bad_qty'],
  ['restock qty negative', entry(RESTOCK, { qty: '-5' }), 'bad_qty'],
  ['restock qty over 1e9', entry(RESTOCK, { qty: '1000000001' }), 'bad_qty'],
  ['restock qty with an exponent', entry(RESTOCK, { qty: '1e3' }), 'bad_qty'],
  ['restock qty with a leading space', entry(RESTOCK, { qty: ' 1' }), 'bad_qty'],
  ['restock qty empty', entry(RESTOCK, { qty: '' }), 'bad_qty'],
  ['duplicate sku field', [...entry(RESTOCK), 'sku', 'SKU-2'], 'duplicate_field'],
  ['duplicate qty field', [...entry(RESTOCK), 'qty', '100'], 'duplicate_field'],
  ['a 1 MB field', entry(RESTOCK, { note: 'x'.repeat(1 << 20) }), 'field_too_large'],
  [
    'a value over a custom limit',
    entry(RESTOCK, { note: 'x'.repeat(101) }),
    'field_too_large',
    { maxValueBytes: 100 },
  ],
];

describe('validateAdminEvent: malformed corpus', () => {
  it.each(CORPUS)('%s → %s', (_name, fields, reason, limits) => {
    const r = validateAdminEvent(fields, limits);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason, r.detail).toBe(reason);
    expect(r.detail.length).toBeGreaterThan(0);
    expect(r.detail.length).toBeLessThanOrEqual(300);
  });

  it('details name the field and the right stream', () => {
    const d = (f: string[]) => {
      const r = validateAdminEvent(f);
      return r.ok ? '' : r.detail;
    };
    expect(d(entry(SET_LIMIT, { per_user: '-1' }))).toContain('per_user');
    expect(d(entry(RESTOCK, { qty: '0' }))).toContain('qty');
    expect(d(['type', 'reserve', 'event_id', 'e'])).toContain('checkout:events');
  });
});

describe('validateAdminEvent: properties', () => {
  it('never throws and always returns ok or a documented reason', () => {
    fc.assert(
      fc.property(fc.oneof(plausibleFields, anyStrings, mutated(adminFieldsArb)), (fields) => {
        const r = validateAdminEvent(fields);
        if (r.ok) expect(['restock', 'set_limit']).toContain(r.value.type);
        else {
          expect(REJECT_REASONS).toContain(r.reason);
          expect(r.detail.length).toBeLessThanOrEqual(300);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every valid admin entry', () => {
    fc.assert(
      fc.property(adminFieldsArb, (fields) => {
        const r = validateAdminEvent(fields);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.eventId).toBe(fields[3]);
        expect(r.value.sku).toBe(fields[5]);
        const v = r.value;
        expect(
          String(v.type === 'restock' ? v.qty : v.type === 'set_limit' ? v.perUser : v.shard),
        ).toBe(fields[7]);
      }),
    );
  });
});
