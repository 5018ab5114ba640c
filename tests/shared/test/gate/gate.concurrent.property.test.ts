/**
 * Property test, concurrent: random batches of reserve (1–3 lines over 3 SKUs, random users,
 * per-user limits on some SKUs), confirm, cancel, extend, expireDue, restock and re-sends of
 * earlier events (also of events in the same batch), split over 4 connections that each send
 * their share as pipelines at the same time, with a fake clock that advances between batches.
 *
 * The order in which Redis runs the scripts of different connections is unknown, so no model
 * predicts the decisions here (test/gate.sequential.property.test.ts does that). Instead,
 * after every batch, model-free invariants are checked:
 *   1, 2  no oversell and conservation for every SKU — also polled by an observer connection
 *         WHILE the batch runs;
 *   3     every event_id has exactly one non-duplicate decision over the whole run, so a
 *         re-sent event never changes state nor adds an outcome or ledger entry;
 *         the outcomes of the batch are exactly one per decided event (+ one per expiry) and
 *         match the decisions; the ledger has exactly one entry per state change; ledger sums
 *         equal the counters; held / sold / usage / holds:due agree with the hold hashes;
 *         per-user limits are never exceeded; a checkout is reserved at most once and finished
 *         (confirmed / cancelled / expired) at most once;
 *   5     at the end, after the clock passes every deadline and several connections sweep at
 *         once, no active hold remains and held = 0.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Gate, type AdminCommand, type CheckoutCommand, type Decision } from '@holdfast/shared';
import {
  CFG,
  T0,
  assertConservation,
  fileEnv,
  readShardCounters,
  type Entry,
  type Harness,
} from '@holdfast/testkit/gate';

const f = fileEnv();

const SKUS = ['A', 'B', 'C'];
const CLIENTS = 4;

type Op =
  | {
      t: 'reserve';
      fresh: boolean;
      pick: number;
      user: number;
      lines: Array<[number, number]>;
      hold: number | undefined;
    }
  | { t: 'confirm' | 'cancel' | 'extend'; pick: number; hold: number | undefined }
  | { t: 'expire'; limit: number }
  | { t: 'restock'; sku: number; qty: number }
  | { t: 'dup'; pick: number };

const holdArb = fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined, freq: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('reserve' as const),
      fresh: fc.boolean().chain((b) => (b ? fc.constant(true) : fc.boolean())),
      pick: fc.nat(),
      user: fc.integer({ min: 0, max: 3 }),
      lines: fc.uniqueArray(
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 4 })),
        {
          minLength: 1,
          maxLength: 3,
          selector: (l) => l[0],
        },
      ),
      hold: holdArb,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constantFrom('confirm' as const, 'cancel' as const, 'extend' as const),
      pick: fc.nat(),
      hold: holdArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('expire' as const), limit: fc.constantFrom(1, 3, 1000) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('restock' as const),
      sku: fc.integer({ min: 0, max: 2 }),
      qty: fc.integer({ min: 1, max: 8 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('dup' as const), pick: fc.nat() }) },
);

const batchArb = fc.record({
  dt: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 30_000 }),
    fc.integer({ min: 30_000, max: 150_000 }),
  ),
  ops: fc.array(fc.tuple(opArb, fc.nat(CLIENTS - 1)), { minLength: 1, maxLength: 14, size: 'max' }),
});

const setupArb = fc.record({
  stock: fc.tuple(
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 25 }),
  ),
  limits: fc.tuple(fc.nat(5), fc.nat(5), fc.nat(5)),
});

type Cmd =
  | { kind: 'checkout'; cmd: CheckoutCommand }
  | { kind: 'admin'; cmd: AdminCommand }
  | { kind: 'expire'; limit: number };
type Result =
  | { kind: 'checkout'; d: Decision }
  | { kind: 'admin'; status: string }
  | { kind: 'expire'; n: number };

const ALLOWED: Record<CheckoutCommand['type'], string[]> = {
  reserve: [
    'reserved',
    'duplicate',
    'rejected:out_of_stock',
    'rejected:unknown_sku', // a SKU whose initial stock was 0 does not exist until restocked
    'rejected:user_limit',
    'rejected:hold_exists',
  ],
  confirm: ['confirmed', 'duplicate', ...holdReasons()],
  cancel: ['cancelled', 'duplicate', ...holdReasons()],
  extend: ['extended', 'duplicate', ...holdReasons()],
};
function holdReasons(): string[] {
  return ['unknown_hold', 'hold_expired', 'hold_cancelled', 'hold_confirmed'].map(
    (r) => `rejected:${r}`,
  );
}

/** Sends each client's share: runs of decisions/admin events as one pipeline, sweeps direct. */
async function runClient(
  h: Harness,
  c: Redis,
  items: Array<{ i: number; cmd: Cmd }>,
  now: number,
  out: Result[],
) {
  let k = 0;
  while (k < items.length) {
    const item = items[k]!;
    if (item.cmd.kind === 'expire') {
      out[item.i] = { kind: 'expire', n: await h.gate.expireDue(c, item.cmd.limit, now) };
      k++;
      continue;
    }
    const run: Array<{ i: number; cmd: Cmd }> = [];
    const p = c.pipeline();
    while (k < items.length && items[k]!.cmd.kind !== 'expire') {
      const it = items[k++]!;
      if (it.cmd.kind === 'checkout') h.queue(p, it.cmd.cmd, now);
      else if (it.cmd.kind === 'admin') h.queueAdmin(p, it.cmd.cmd, now);
      run.push(it);
    }
    const res = (await p.exec())!;
    run.forEach((it, j) => {
      const [err, v] = res[j]!;
      if (err) throw err;
      out[it.i] =
        it.cmd.kind === 'checkout'
          ? { kind: 'checkout', d: Gate.parse(v) }
          : { kind: 'admin', status: (v as string[])[0]! };
    });
  }
}

describe('gate (concurrent clients, model-free invariants)', () => {
  it('keeps invariants 1, 2, 3, 5 under concurrent pipelines', async () => {
    let batchesRun = 0;
    const seen = new Map<string, number>();
    const note = (k: string, n = 1) => seen.set(k, (seen.get(k) ?? 0) + n);
    await fc.assert(
      fc.asyncProperty(
        setupArb,
        fc.array(batchArb, { minLength: 2, maxLength: 10, size: 'max' }),
        async (setup, batches) => {
          const h = f.harness();
          const clients = f.clients(CLIENTS);
          const observer = f.clients(1)[0]!;
          try {
            let now = T0;
            let ev = 0;
            let nextCid = 0;
            const cids: string[] = [];
            /** Checkouts that got a hold in an earlier batch. */
            const held: string[] = [];
            const sent: Cmd[] = [];
            /** event_id → number of non-duplicate decisions (checkout and admin kept apart). */
            const decidedCount = new Map<string, number>();
            const reservedOnce = new Map<string, number>();
            const finishedOnce = new Map<string, number>();
            const limits = new Map<string, number>();

            for (let i = 0; i < 3; i++) {
              if (setup.stock[i]! > 0)
                await h.admin(
                  { type: 'restock', eventId: `a${++ev}`, sku: SKUS[i]!, qty: setup.stock[i]! },
                  now,
                );
              if (setup.limits[i]! > 0) {
                await h.admin(
                  {
                    type: 'set_limit',
                    eventId: `a${++ev}`,
                    sku: SKUS[i]!,
                    perUser: setup.limits[i]!,
                  },
                  now,
                );
                limits.set(SKUS[i]!, setup.limits[i]!);
              }
            }
            await h.checkAll('setup');
            await h.newOutcomes();
            await h.newLedger();

            for (const batch of batches) {
              now += batch.dt;
              // Build the batch's commands (targets may be checkouts reserved in this same batch).
              const cmds: Array<{ cmd: Cmd; client: number }> = [];
              const batchReserves: string[] = [];
              for (const [op, client] of batch.ops) {
                let cmd: Cmd | undefined;
                switch (op.t) {
                  case 'reserve': {
                    const cid =
                      op.fresh || cids.length === 0
                        ? `c${++nextCid}`
                        : cids[op.pick % cids.length]!;
                    if (!cids.includes(cid)) cids.push(cid);
                    batchReserves.push(cid);
                    cmd = {
                      kind: 'checkout',
                      cmd: {
                        type: 'reserve',
                        eventId: `e${++ev}`,
                        checkoutId: cid,
                        userId: `u${op.user}`,
                        lines: op.lines.map(([s, q]) => [SKUS[s]!, q]),
                        holdSeconds: op.hold,
                      },
                    };
                    break;
                  }
                  case 'confirm':
                  case 'cancel':
                  case 'extend': {
                    // One of the 5 latest checkouts that got (or may get, in this batch) a hold.
                    const targets = [...held, ...batchReserves];
                    const k = op.pick % (Math.min(targets.length, 5) + 1);
                    const cid = targets[targets.length - 1 - k] ?? 'never-reserved';
                    cmd = {
                      kind: 'checkout',
                      cmd:
                        op.t === 'extend'
                          ? {
                              type: 'extend',
                              eventId: `e${++ev}`,
                              checkoutId: cid,
                              holdSeconds: op.hold,
                            }
                          : { type: op.t, eventId: `e${++ev}`, checkoutId: cid },
                    };
                    break;
                  }
                  case 'expire':
                    cmd = { kind: 'expire', limit: op.limit };
                    break;
                  case 'restock':
                    cmd = {
                      kind: 'admin',
                      cmd: {
                        type: 'restock',
                        eventId: `a${++ev}`,
                        sku: SKUS[op.sku]!,
                        qty: op.qty,
                      },
                    };
                    break;
                  case 'dup':
                    // One of the 10 latest events: often one queued earlier in this very batch on
                    // another client (a concurrent re-send), else one decided in an earlier batch.
                    cmd = sent.length
                      ? sent[sent.length - 1 - (op.pick % Math.min(sent.length, 10))]
                      : undefined;
                    if (cmd && cmds.some((c) => c.cmd === cmd))
                      note('re-sent within its own batch');
                    break;
                }
                if (!cmd) continue;
                if (cmd.kind !== 'expire' && op.t !== 'dup') sent.push(cmd);
                cmds.push({ cmd, client });
              }

              // Send: every client its share, all at once; an observer polls conservation meanwhile.
              const results: Result[] = new Array(cmds.length);
              const perClient = Array.from(
                { length: CLIENTS },
                () => [] as Array<{ i: number; cmd: Cmd }>,
              );
              cmds.forEach((c, i) => perClient[c.client]!.push({ i, cmd: c.cmd }));
              let running = true;
              const watch = (async () => {
                let polls = 0;
                while (running || polls === 0) {
                  assertConservation(
                    await readShardCounters(observer, h.keys),
                    'observer, mid-batch',
                  );
                  polls++;
                }
                return polls;
              })();
              try {
                await Promise.all(
                  perClient.map((items, k) => runClient(h, clients[k]!, items, now, results)),
                );
              } finally {
                running = false;
              }
              note('observer polls', await watch);
              batchesRun++;

              // --- invariant checks after the batch
              await h.checkAll(`batch @+${now - T0}`);
              const outs = await h.newOutcomes();
              const leds = await h.newLedger();

              let expiredN = 0;
              const wantOutcomes = new Map<string, Record<string, string>>();
              const wantChanges: string[] = [];
              cmds.forEach(({ cmd }, i) => {
                const r = results[i]!;
                if (cmd.kind === 'expire' && r.kind === 'expire') {
                  expiredN += r.n;
                  note('expired', r.n);
                  return;
                }
                if (cmd.kind === 'admin' && r.kind === 'admin') {
                  if (r.status === 'duplicate') return;
                  expect(r.status).toBe(cmd.cmd.type === 'restock' ? 'restocked' : 'limit_set');
                  const key = `adm:${cmd.cmd.eventId}`;
                  decidedCount.set(key, (decidedCount.get(key) ?? 0) + 1);
                  wantChanges.push(`${cmd.cmd.type}:${cmd.cmd.eventId}`);
                  return;
                }
                if (cmd.kind !== 'checkout' || r.kind !== 'checkout')
                  throw new Error('result kind mismatch');
                const c = cmd.cmd;
                const d = r.d;
                const label = d.status === 'rejected' ? `rejected:${d.reason}` : d.status;
                expect(ALLOWED[c.type], `${c.type} ${c.eventId}`).toContain(label);
                note(`${c.type}:${label}`);
                if (d.status === 'duplicate') return;
                decidedCount.set(c.eventId, (decidedCount.get(c.eventId) ?? 0) + 1);
                const o: Record<string, string> = {
                  event_id: c.eventId,
                  checkout_id: c.checkoutId,
                  type: c.type,
                  status: d.status,
                };
                if (d.reason) o.reason = d.reason;
                if (d.expiresAt !== undefined) o.expires_at = String(d.expiresAt);
                o.shard = 'main';
                o.at = String(now);
                wantOutcomes.set(c.eventId, o);
                if (d.status !== 'rejected') wantChanges.push(`${c.type}:${c.eventId}`);
                if (d.status === 'reserved') {
                  const want = Math.min(
                    now + holdMs(c.type === 'reserve' ? c.holdSeconds : undefined),
                    now + CFG.holdMaxTotalSeconds * 1000,
                  );
                  expect(d.expiresAt).toBe(want);
                  reservedOnce.set(c.checkoutId, (reservedOnce.get(c.checkoutId) ?? 0) + 1);
                  held.push(c.checkoutId);
                }
                if (d.status === 'extended') {
                  expect(d.expiresAt!).toBeGreaterThan(now);
                }
                if (d.status === 'confirmed' || d.status === 'cancelled') {
                  finishedOnce.set(c.checkoutId, (finishedOnce.get(c.checkoutId) ?? 0) + 1);
                }
              });

              // Exactly one outcome per decided event, matching its decision, plus one per expiry.
              const expiredOuts: Entry[] = [];
              const decisionOuts = new Map<string, Record<string, string>>();
              for (const o of outs) {
                if (o.f.status === 'expired') expiredOuts.push(o);
                else decisionOuts.set(o.f.event_id!, o.f);
              }
              expect(outs.length, 'outcomes = decisions + expiries').toBe(
                wantOutcomes.size + expiredN,
              );
              expect(decisionOuts).toEqual(wantOutcomes);
              expect(expiredOuts).toHaveLength(expiredN);
              for (const o of expiredOuts) {
                expect(o.f).toMatchObject({
                  type: 'expire',
                  status: 'expired',
                  shard: 'main',
                  at: String(now),
                });
                expect(o.f.event_id).toBe(
                  `expired:${o.f.checkout_id}:${(await h.hold(o.f.checkout_id!))!.n}`,
                );
                finishedOnce.set(o.f.checkout_id!, (finishedOnce.get(o.f.checkout_id!) ?? 0) + 1);
              }

              // Exactly one ledger entry per state change.
              const expireLeds = leds.filter((l) => l.kind === 'expire');
              expect(expireLeds.map((l) => l.event_id).sort()).toEqual(
                expiredOuts.map((o) => o.f.event_id).sort(),
              );
              expect(
                leds
                  .filter((l) => l.kind !== 'expire')
                  .map((l) => l.change_id)
                  .sort(),
              ).toEqual(wantChanges.sort());

              // Invariant 3 over the whole run: each event decided exactly once.
              for (const s of sent) {
                if (s.kind === 'expire') continue;
                const key = s.kind === 'admin' ? `adm:${s.cmd.eventId}` : s.cmd.eventId;
                expect(decidedCount.get(key), `event ${key} decided exactly once`).toBe(1);
              }
              for (const [cid, n] of reservedOnce)
                expect(n, `checkout ${cid} reserved once`).toBe(1);
              for (const [cid, n] of finishedOnce) {
                expect(n, `checkout ${cid} finished once`).toBe(1);
                expect(reservedOnce.get(cid), `finished checkout ${cid} had been reserved`).toBe(1);
              }

              // Per-user limits (set once at setup) are never exceeded.
              const usage = await h.allUsage();
              for (const [user, m] of usage) {
                for (const [sku, q] of m) {
                  const lim = limits.get(sku);
                  if (lim)
                    expect(q, `usage of ${user} on ${sku} within limit ${lim}`).toBeLessThanOrEqual(
                      lim,
                    );
                }
              }
            }

            // Invariant 5: past every deadline, concurrent sweeps leave no active hold.
            now += CFG.holdMaxTotalSeconds * 1000 + 1;
            const swept = await Promise.all(
              clients.map(async (c) => {
                let n = 0;
                for (;;) {
                  const k = await h.gate.expireDue(c, 2, now);
                  if (!k) return n;
                  n += k;
                }
              }),
            );
            const final = await h.checkAll('final');
            for (const [sku, c] of final)
              expect(c.held, `held of ${sku} after the final sweep`).toBe(0);
            expect((await h.due()).size).toBe(0);
            const holds = await h.allHolds();
            expect([...holds.values()].filter((x) => x.state === 'active')).toEqual([]);
            const outs = await h.newOutcomes();
            expect(outs).toHaveLength(swept.reduce((a, b) => a + b, 0));
            for (const o of outs) {
              finishedOnce.set(o.f.checkout_id!, (finishedOnce.get(o.f.checkout_id!) ?? 0) + 1);
            }
            // Every hold ever reserved is finished exactly once.
            for (const [cid] of reservedOnce)
              expect(finishedOnce.get(cid), `checkout ${cid} finished once`).toBe(1);
            for (const [cid, n] of finishedOnce) expect(n, `checkout ${cid} finished once`).toBe(1);
          } finally {
            for (const c of [...clients, observer, h.r]) c.disconnect();
          }
        },
      ),
      { numRuns: 80 },
    );
    expect(batchesRun).toBeGreaterThan(30);
    // The generator must keep producing the interesting cases (each is seen dozens of times).
    for (const k of [
      'reserve:reserved',
      'reserve:duplicate',
      'reserve:rejected:out_of_stock',
      'reserve:rejected:user_limit',
      'reserve:rejected:hold_exists',
      'confirm:confirmed',
      'cancel:cancelled',
      'extend:extended',
      'confirm:rejected:hold_expired',
      'cancel:rejected:hold_confirmed',
      'expired',
      're-sent within its own batch',
    ]) {
      expect(seen.get(k) ?? 0, `coverage: ${k}`).toBeGreaterThan(0);
    }
    expect(seen.get('observer polls')).toBeGreaterThanOrEqual(batchesRun);
  });
});

function holdMs(requested: number | undefined): number {
  const s = requested ?? CFG.holdDefaultSeconds;
  return Math.min(CFG.holdMaxSeconds, Math.max(CFG.holdMinSeconds, s)) * 1000;
}
