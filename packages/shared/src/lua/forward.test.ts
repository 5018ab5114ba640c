/**
 * forward-2.lua (ingest) against a real Redis: records the event_id and forwards the event to
 * the inbound stream in one step; a seen event_id (forwarded or already decided) is dropped.
 */
import { describe, expect, it } from 'vitest';
import { runScript } from './index.js';
import { T0, fileEnv, reserve, restock, xrangeAfter } from '../../test/helpers.js';

const f = fileEnv();

describe('forward', () => {
  const fields = (eventId: string) => [
    'type',
    'reserve',
    'event_id',
    eventId,
    'checkout_id',
    `c-${eventId}`,
    'user_id',
    'u',
    'lines',
    '[["A",1]]',
    'src_id',
    '1-0',
  ];

  it('forwards once per event_id; re-sends are dropped', async () => {
    const h = f.harness();
    const fwd = (id: string) =>
      runScript<number>(h.r, 'forward', [h.sk.event(id), h.sk.inbound], [3_600, ...fields(id)]);
    expect(await fwd('e1')).toBe(1);
    expect(await fwd('e1')).toBe(0);
    expect(await fwd('e2')).toBe(1);
    const inbound = await xrangeAfter(h.r, h.sk.inbound, undefined);
    expect(inbound.map((e) => e.f.event_id)).toEqual(['e1', 'e2']);
    // Field order and values are forwarded verbatim.
    expect(inbound[0]!.names).toEqual([
      'type',
      'event_id',
      'checkout_id',
      'user_id',
      'lines',
      'src_id',
    ]);
    expect(inbound[0]!.f.lines).toBe('[["A",1]]');
    expect(await h.r.get(h.sk.event('e1'))).toBe('f');
    const ttl = await h.r.ttl(h.sk.event('e1'));
    expect(ttl).toBeGreaterThan(3_500);
    expect(ttl).toBeLessThanOrEqual(3_600);
  });

  it('a forwarded event is still decided by the reserver; a decided event is not forwarded again', async () => {
    const h = f.harness();
    await h.admin(restock('r1', 'A', 5), T0);
    expect(
      await runScript<number>(
        h.r,
        'forward',
        [h.sk.event('e1'), h.sk.inbound],
        [3_600, ...fields('e1')],
      ),
    ).toBe(1);
    // The 'f' mark is not a decision: reserve proceeds and turns it into 'd'.
    expect(await h.decide(reserve('e1', 'c-e1', 'u', [['A', 1]]), T0)).toMatchObject({
      status: 'reserved',
    });
    expect(await h.r.get(h.sk.event('e1'))).toBe('d');
    expect(
      await runScript<number>(
        h.r,
        'forward',
        [h.sk.event('e1'), h.sk.inbound],
        [3_600, ...fields('e1')],
      ),
    ).toBe(0);
    expect(await h.decide(reserve('e1', 'c-e1', 'u', [['A', 1]]), T0)).toEqual({
      status: 'duplicate',
    });
    expect(await h.r.xlen(h.sk.inbound)).toBe(1);
    await h.checkAll();
  });

  it('forwards exactly once when several connections race on the same event_ids', async () => {
    const h = f.harness();
    const clients = f.clients(4);
    const results = await Promise.all(
      clients.map(async (c) => {
        const p = c.pipeline();
        for (let i = 0; i < 25; i++)
          runScript(p, 'forward', [h.sk.event(`e${i}`), h.sk.inbound], [3_600, ...fields(`e${i}`)]);
        return (await p.exec())!.map(([, v]) => v as number);
      }),
    );
    for (let i = 0; i < 25; i++) expect(results.reduce((a, r) => a + r[i]!, 0)).toBe(1);
    const inbound = await xrangeAfter(h.r, h.sk.inbound, undefined);
    expect(inbound).toHaveLength(25);
    expect(new Set(inbound.map((e) => e.f.event_id)).size).toBe(25);
  });
});
