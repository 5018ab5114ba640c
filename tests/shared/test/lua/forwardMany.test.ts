/**
 * forwardMany-3.lua (ingest) against a real Redis: each new event_id is recorded and its payload
 * forwarded to the inbound stream once — re-sends dropped, also within one batch and across
 * racing connections — and the dedupe mark is the one the decision scripts read.
 */
import { describe, expect, it } from 'vitest';
import { runScript } from '@holdfast/shared';
import { T0, fileEnv, reserve, restock, xrangeAfter } from '@holdfast/testkit/gate';

const f = fileEnv();

const payload = (eventId: string, type = 'confirm') =>
  JSON.stringify({ t: type, e: eventId, c: `c-${eventId}`, s: '1-0' });

describe('forwardMany', () => {
  it('forwards each new event_id once, in order, and reports duplicates per event', async () => {
    const h = f.harness();
    const batch = (events: Array<[string, string]>) =>
      runScript<number[]>(
        h.r,
        'forwardMany',
        [h.sk.inbound, h.sk.prefix, h.sk.repliesPrefix],
        [3_600, 100, 60, 1, ...events.flatMap(([id, type]) => [id, payload(id, type)])],
      );
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
    // One field per entry, the payload verbatim.
    expect(inbound.map((e) => e.names)).toEqual([['e'], ['e'], ['e'], ['e']]);
    expect(inbound.map((e) => e.f.e)).toEqual([
      payload('e1', 'confirm'),
      payload('e2', 'cancel'),
      payload('e3', 'extend'),
      payload('e4', 'confirm'),
    ]);
    // The mark sits on the key keys.ts names, with the TTL of the dedupe window.
    expect(await h.r.get(h.sk.event('e4'))).toBe('f');
    const ttl = await h.r.ttl(h.sk.event('e4'));
    expect(ttl).toBeGreaterThan(3_500);
    expect(ttl).toBeLessThanOrEqual(3_600);
  });

  it('a forwarded event is still decided by the reserver; a decided event is not forwarded again', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 5), T0);
    const fwd = () =>
      runScript<number[]>(
        h.r,
        'forwardMany',
        [h.sk.inbound, h.sk.prefix, h.sk.repliesPrefix],
        [3_600, 100, 60, 1, 'e1', payload('e1', 'reserve')],
      );
    expect(await fwd()).toEqual([1]);
    // The 'f' mark is not a decision: reserve proceeds and turns it into the decided record.
    expect(await h.decide(reserve('e1', 'c-e1', 'u', [['A', 1]]), T0)).toMatchObject({
      status: 'reserved',
    });
    expect(await h.r.get(h.sk.event('e1'))).toMatch(/^d\|reserve\|reserved\|\|\d+\|c-e1$/);
    expect(await fwd()).toEqual([0]);
    expect(await h.decide(reserve('e1', 'c-e1', 'u', [['A', 1]]), T0)).toEqual({
      status: 'duplicate',
    });
    expect(await h.r.xlen(h.sk.inbound)).toBe(1);
    await h.checkAll();
  });

  it('forwards exactly once when several connections race on the same event_ids', async () => {
    const h = f.harness();
    const ids = Array.from({ length: 25 }, (_, i) => `e${i}`);
    const results = await Promise.all(
      f
        .clients(4)
        .map((c) =>
          runScript<number[]>(
            c,
            'forwardMany',
            [h.sk.inbound, h.sk.prefix, h.sk.repliesPrefix],
            [3_600, 100, 60, 1, ...ids.flatMap((id) => [id, payload(id)])],
          ),
        ),
    );
    for (let i = 0; i < ids.length; i++) expect(results.reduce((a, r) => a + r[i]!, 0)).toBe(1);
    const inbound = await xrangeAfter(h.r, h.sk.inbound, undefined);
    expect(inbound).toHaveLength(25);
    expect(new Set(inbound.map((e) => e.f.e)).size).toBe(25);
  });
});
