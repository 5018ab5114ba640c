/**
 * forwardMany.lua (ingest's batch path) against a real Redis: the same effect as forward-2.lua
 * per event — recorded and forwarded once, re-sends dropped, also within one batch — in one call.
 */
import { describe, expect, it } from 'vitest';
import { runScript } from './index.js';
import { fileEnv, xrangeAfter } from '../../test/helpers.js';

const f = fileEnv();

const fields = (eventId: string, type = 'confirm') => [
  'type',
  type,
  'event_id',
  eventId,
  'checkout_id',
  `c-${eventId}`,
  'src_id',
  '1-0',
];

describe('forwardMany', () => {
  it('forwards each new event_id once, in order, and reports duplicates per event', async () => {
    const h = f.harness();
    const batch = async (events: Array<[string, string]>) => {
      const keys = [h.sk.inbound, ...events.map(([id]) => h.sk.event(id))];
      const args: Array<string | number> = [3_600];
      for (const [id, type] of events) {
        const fl = fields(id, type);
        args.push(fl.length, ...fl);
      }
      return runScript<number[]>(h.r, 'forwardMany', keys, args);
    };
    // e2 appears twice in one batch: the first wins.
    expect(
      await batch([
        ['e1', 'confirm'],
        ['e2', 'cancel'],
        ['e2', 'confirm'],
        ['e3', 'extend'],
      ]),
    ).toEqual([1, 1, 0, 1]);
    // Across calls: e1 and e3 were seen; e4 is new.
    expect(
      await batch([
        ['e1', 'cancel'],
        ['e4', 'confirm'],
        ['e3', 'cancel'],
      ]),
    ).toEqual([0, 1, 0]);
    const inbound = await xrangeAfter(h.r, h.sk.inbound, undefined);
    expect(inbound.map((e) => [e.f.event_id, e.f.type])).toEqual([
      ['e1', 'confirm'],
      ['e2', 'cancel'],
      ['e3', 'extend'],
      ['e4', 'confirm'],
    ]);
    // Field order and values are forwarded verbatim.
    expect(inbound[0]!.names).toEqual(['type', 'event_id', 'checkout_id', 'src_id']);
    // The dedupe key carries the TTL (the dedupe window).
    const ttl = await h.r.ttl(h.sk.event('e4'));
    expect(ttl).toBeGreaterThan(3_500);
  });

  it('agrees with forward-2.lua: an id one of them recorded is a duplicate for the other', async () => {
    const h = f.harness();
    expect(
      await runScript<number>(
        h.r,
        'forward',
        [h.sk.event('x1'), h.sk.inbound],
        [60, ...fields('x1')],
      ),
    ).toBe(1);
    const fl = fields('x1');
    expect(
      await runScript<number[]>(
        h.r,
        'forwardMany',
        [h.sk.inbound, h.sk.event('x1')],
        [60, fl.length, ...fl],
      ),
    ).toEqual([0]);
  });
});
