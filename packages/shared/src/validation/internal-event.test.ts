import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeInternalEvent, fromLegacyFields, type CheckoutEvent } from './index.js';
import { checkoutEventArb, payloadToEvent } from './arbitraries.testutil.js';

const SRC = '1700000000000-0';

describe('encodeInternalEvent', () => {
  it('writes the documented compact JSON, lines as ["SKU",qty] in the producer order', () => {
    expect(
      encodeInternalEvent(
        {
          type: 'reserve',
          eventId: 'e2',
          checkoutId: 'c2',
          userId: 'u7',
          lines: [
            ['B', 2],
            ['A', 1],
          ],
          holdSeconds: 90,
        },
        SRC,
      ),
    ).toBe(`{"t":"reserve","e":"e2","c":"c2","s":"${SRC}","u":"u7","l":[["B",2],["A",1]],"h":90}`);
    expect(encodeInternalEvent({ type: 'confirm', eventId: 'e3', checkoutId: 'c1' }, '5-1')).toBe(
      '{"t":"confirm","e":"e3","c":"c1","s":"5-1"}',
    );
    expect(encodeInternalEvent({ type: 'extend', eventId: 'e4', checkoutId: 'c1' }, '5-2')).toBe(
      '{"t":"extend","e":"e4","c":"c1","s":"5-2"}',
    );
  });

  it('escapes values that need it in JSON', () => {
    const json = encodeInternalEvent(
      { type: 'reserve', eventId: 'e', checkoutId: 'c', userId: 'u', lines: [['a"b\\c', 1]] },
      SRC,
    );
    expect(json).toContain('[["a\\"b\\\\c",1]]');
    expect(payloadToEvent(json).ev).toMatchObject({ lines: [['a"b\\c', 1]] });
  });

  it('loses nothing: every valid event reads back as itself with its source id', () => {
    const srcId = fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`);
    fc.assert(
      fc.property(checkoutEventArb, srcId, (ev, id) => {
        expect(payloadToEvent(encodeInternalEvent(ev, id))).toStrictEqual({ ev, srcId: id });
      }),
      { numRuns: 1000 },
    );
  });

  it('is deterministic (same event, same payload)', () => {
    fc.assert(
      fc.property(checkoutEventArb, (ev) => {
        expect(encodeInternalEvent(structuredClone(ev), SRC)).toBe(encodeInternalEvent(ev, SRC));
      }),
    );
  });
});

/** The earlier S in format: one stream field per value (what ingest wrote before). */
function legacyFields(ev: CheckoutEvent, srcId: string): string[] {
  const out = ['type', ev.type, 'event_id', ev.eventId, 'checkout_id', ev.checkoutId];
  if (ev.type === 'reserve') out.push('user_id', ev.userId, 'lines', JSON.stringify(ev.lines));
  if ((ev.type === 'reserve' || ev.type === 'extend') && ev.holdSeconds !== undefined) {
    out.push('hold_seconds', String(ev.holdSeconds));
  }
  out.push('src_id', srcId);
  return out;
}

describe('fromLegacyFields', () => {
  it('turns an entry of the earlier format into the payload ingest writes now', () => {
    fc.assert(
      // The earlier format predates reply_to (contract v2).
      fc.property(checkoutEventArb, ({ replyTo: _r, ...ev }) => {
        const legacy = fromLegacyFields(legacyFields(ev, SRC));
        expect(legacy).toBeDefined();
        expect(JSON.parse(legacy!)).toEqual(JSON.parse(encodeInternalEvent(ev, SRC)));
      }),
      { numRuns: 500 },
    );
  });

  it('is undefined for what is not that format (the gate never sees it)', () => {
    expect(fromLegacyFields(['e', '{}'])).toBeUndefined();
    expect(fromLegacyFields(['type', 'reserve', 'event_id', 'x'])).toBeUndefined(); // no src_id
    expect(
      fromLegacyFields(['type', 'reserve', 'event_id', 'x', 'lines', '[', 'src_id', '1-0']),
    ).toBeUndefined();
    expect(fromLegacyFields([])).toBeUndefined();
  });
});
