/**
 * fast-check arbitraries shared by the validation tests (test-only; not exported by index.ts).
 */
import fc from 'fast-check';
import type { CheckoutEvent } from './types.js';
import type { InternalPayload } from './internal-event.js';

export const visibleChar = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
/** A valid id: 1–128 visible ASCII characters. */
export const idArb = fc.string({ unit: visibleChar, minLength: 1, maxLength: 128 });
export const shortId = fc.string({ unit: visibleChar, minLength: 1, maxLength: 12 });
const holdArb = fc.option(fc.integer({ min: 1, max: 1_000_000_000 }), { nil: undefined });

/** A valid reply_to (contract v2): 1–64 characters of [A-Za-z0-9_-]. */
const replyToArb = fc.option(
  fc.string({
    unit: fc.constantFrom(...'abcXYZ019_-'.split('')),
    minLength: 1,
    maxLength: 64,
  }),
  { nil: undefined },
);

/** Valid normalised checkout events, without reply_to. */
const eventArb: fc.Arbitrary<CheckoutEvent> = fc.oneof(
  fc
    .record({
      eventId: idArb,
      checkoutId: idArb,
      userId: idArb,
      lines: fc.uniqueArray(fc.tuple(idArb, fc.integer({ min: 1, max: 10_000 })), {
        minLength: 1,
        maxLength: 50,
        selector: (l) => l[0],
      }),
      holdSeconds: holdArb,
    })
    .map(({ holdSeconds, ...r }): CheckoutEvent => ({
      type: 'reserve',
      ...r,
      lines: r.lines.map(([s, q]): [string, number] => [s, q]),
      ...(holdSeconds === undefined ? {} : { holdSeconds }),
    })),
  fc
    .record({
      type: fc.constantFrom('confirm' as const, 'cancel' as const),
      eventId: idArb,
      checkoutId: idArb,
    })
    .map((r): CheckoutEvent => ({ ...r })), // fc.record objects have a null prototype
  fc
    .record({ eventId: idArb, checkoutId: idArb, holdSeconds: holdArb })
    .map(({ holdSeconds, ...r }): CheckoutEvent => ({
      type: 'extend',
      ...r,
      ...(holdSeconds === undefined ? {} : { holdSeconds }),
    })),
);

/** Valid normalised checkout events, some with a reply_to. */
export const checkoutEventArb: fc.Arbitrary<CheckoutEvent> = fc
  .tuple(eventArb, replyToArb)
  .map(([ev, replyTo]) => (replyTo === undefined ? ev : { ...ev, replyTo }));

/** Renders a valid event as a producer would send it (the sku/qty shorthand when asked and possible). */
export function toProducerFields(
  ev: CheckoutEvent,
  shorthand: boolean,
  extra: string[] = [],
): string[] {
  const out = ['type', ev.type, 'event_id', ev.eventId, 'checkout_id', ev.checkoutId];
  if (ev.type === 'reserve') {
    out.push('user_id', ev.userId);
    const first = ev.lines[0];
    if (shorthand && ev.lines.length === 1 && first)
      out.push('sku', first[0], 'qty', String(first[1]));
    else out.push('lines', JSON.stringify(ev.lines.map(([sku, qty]) => ({ sku, qty }))));
  }
  if ((ev.type === 'reserve' || ev.type === 'extend') && ev.holdSeconds !== undefined) {
    out.push('hold_seconds', String(ev.holdSeconds));
  }
  if (ev.replyTo !== undefined) out.push('reply_to', ev.replyTo);
  return [...out, ...extra];
}

export const KNOWN_NAMES = [
  'type',
  'event_id',
  'checkout_id',
  'user_id',
  'lines',
  'sku',
  'qty',
  'hold_seconds',
  'reply_to',
  'per_user',
  'src_id',
];

/** Values that are often almost right, so the deep paths of the validators get exercised. */
export const interestingValue = fc.oneof(
  fc.constantFrom(
    'reserve',
    'confirm',
    'cancel',
    'extend',
    'restock',
    'set_limit',
    '',
    ' ',
    '0',
    '1',
    '-1',
    '1e3',
    '10000',
    '10001',
    '[]',
    '{}',
    'null',
    '1700000000000-0',
  ),
  shortId,
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.nat().map(String),
  fc.json(),
  fc
    .array(
      fc.record(
        {
          sku: fc.oneof(shortId, fc.string(), fc.integer()),
          qty: fc.oneof(fc.integer({ min: -2, max: 10_002 }), fc.double(), fc.string()),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 60 },
    )
    .map((a) => JSON.stringify(a)),
  fc
    .array(fc.tuple(fc.oneof(shortId, fc.string()), fc.integer({ min: -2, max: 10_002 })), {
      maxLength: 60,
    })
    .map((a) => JSON.stringify(a)),
);

const fieldName = fc.oneof(fc.constantFrom(...KNOWN_NAMES), fc.string());

/** Field arrays built from plausible names and values. */
export const plausibleFields = fc
  .array(fc.tuple(fieldName, interestingValue), { maxLength: 12 })
  .map((pairs) => pairs.flat());

/** Arbitrary string arrays (any length, odd included). */
export const anyStrings = fc.array(
  fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom(...KNOWN_NAMES)),
  { maxLength: 20 },
);

type Mutation =
  | { kind: 'set'; at: number; value: string }
  | { kind: 'rename'; at: number; name: string }
  | { kind: 'drop'; at: number }
  | { kind: 'add'; name: string; value: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: interestingValue }),
  fc.record({ kind: fc.constant('rename' as const), at: fc.nat(), name: fieldName }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), name: fieldName, value: interestingValue }),
);

/** Applies 0–3 small mutations (change a value, rename/drop/add a field) to a valid field array. */
export function mutated(valid: fc.Arbitrary<string[]>): fc.Arbitrary<string[]> {
  return fc.tuple(valid, fc.array(mutationArb, { maxLength: 3 })).map(([fields, muts]) => {
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i + 1 < fields.length; i += 2)
      pairs.push([fields[i] as string, fields[i + 1] as string]);
    for (const m of muts) {
      if (m.kind === 'add') pairs.push([m.name, m.value]);
      else if (pairs.length > 0) {
        const at = m.at % pairs.length;
        const p = pairs[at] as [string, string];
        if (m.kind === 'set') p[1] = m.value;
        else if (m.kind === 'rename') p[0] = m.name;
        else pairs.splice(at, 1);
      }
    }
    return pairs.flat();
  });
}

/** Valid admin entries as an operator would send them. */
export const adminFieldsArb: fc.Arbitrary<string[]> = fc.oneof(
  fc
    .tuple(idArb, idArb, fc.integer({ min: 1, max: 1_000_000_000 }))
    .map(([e, s, q]) => ['type', 'restock', 'event_id', e, 'sku', s, 'qty', String(q)]),
  fc
    .tuple(idArb, idArb, fc.integer({ min: 0, max: 1_000_000 }))
    .map(([e, s, p]) => ['type', 'set_limit', 'event_id', e, 'sku', s, 'per_user', String(p)]),
);

/** Producer-format checkout entries, valid or slightly broken. */
export const nearlyValidCheckoutFields = mutated(
  fc.tuple(checkoutEventArb, fc.boolean()).map(([ev, sh]) => toProducerFields(ev, sh)),
);

/** What the gate reads back from a payload (decideMany-5.lua), as a CheckoutEvent. */
export function payloadToEvent(json: string): { ev: CheckoutEvent; srcId: string } {
  const p = JSON.parse(json) as InternalPayload;
  const base = { eventId: p.e, checkoutId: p.c, ...(p.r === undefined ? {} : { replyTo: p.r }) };
  const hold = p.h === undefined ? {} : { holdSeconds: p.h };
  switch (p.t) {
    case 'reserve':
      return { ev: { type: p.t, ...base, userId: p.u!, lines: p.l!, ...hold }, srcId: p.s };
    case 'extend':
      return { ev: { type: p.t, ...base, ...hold }, srcId: p.s };
    default:
      return { ev: { type: p.t, ...base }, srcId: p.s };
  }
}
