import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from '@holdfast/shared/mysql';
import {
  applyLedgerBatch,
  compareSku,
  isRetryableMysqlError,
  parseLedgerEntry,
  type LedgerEntry,
} from './apply-batch.js';
import {
  EntryFactory,
  Model,
  count,
  freshDb,
  ledgerSums,
  readStock,
  type Db,
} from '../test/ledger-helpers.js';

let db: Db;
beforeAll(async () => {
  db = await freshDb();
});
afterAll(async () => {
  await db?.close();
});

let testNo = 0;
/** A SKU / event-id prefix per test: tests share the database, never their keys. */
const scope = () => `t${++testNo}-`;

describe('parseLedgerEntry', () => {
  const fields = (o: Record<string, string>) => Object.entries(o).flat();
  const base = {
    change_id: 'reserve:e1',
    kind: 'reserve',
    event_id: 'e1',
    checkout_id: 'c1',
    at: '1700000000123',
    lines: '[["A",0,-2,2,0],["B",0,-1,1,0]]',
  };

  it('parses the reserver format', () => {
    expect(parseLedgerEntry('1700000000123-0', fields({ ...base, extra: 'ignored' }))).toEqual({
      streamId: '1700000000123-0',
      changeId: 'reserve:e1',
      kind: 'reserve',
      eventId: 'e1',
      checkoutId: 'c1',
      atMs: 1700000000123,
      lines: [
        ['A', 0, -2, 2, 0],
        ['B', 0, -1, 1, 0],
      ],
    });
  });

  it('reads set_limit per_user, cjson empty tables, and merges repeated SKUs', () => {
    const sl = parseLedgerEntry(
      '1-0',
      fields({
        ...base,
        kind: 'set_limit',
        change_id: 'set_limit:e1',
        checkout_id: '',
        lines: '[["A",0,0,0,0]]',
        per_user: '3',
      }),
    );
    expect(sl).toMatchObject({ kind: 'set_limit', perUser: 3, checkoutId: '' });
    expect(parseLedgerEntry('1-0', fields({ ...base, kind: 'extend', lines: '{}' }))).toMatchObject(
      { lines: [] },
    );
    expect(
      parseLedgerEntry('1-0', fields({ ...base, lines: '[["A",0,-1,1,0],["A",0,-2,2,0]]' })),
    ).toMatchObject({
      lines: [['A', 0, -3, 3, 0]],
    });
    const noCheckout: Record<string, string> = { ...base };
    delete noCheckout.checkout_id;
    expect(parseLedgerEntry('1-0', fields(noCheckout))).toMatchObject({ checkoutId: '' });
  });

  it('returns an error for malformed entries', () => {
    const bad: Array<[string, Record<string, string>, RegExp]> = [
      ['1-0', { ...base, lines: 'nope' }, /not JSON/],
      ['1-0', { ...base, lines: '{"a":1}' }, /not a JSON array/],
      ['1-0', { ...base, lines: '[["A",0,-1.5,1.5,0]]' }, /non-integer/],
      ['1-0', { ...base, lines: '[["A",0,-1]]' }, /not \[sku/],
      ['1-0', { ...base, lines: '[[1,0,0,0,0]]' }, /sku must be a string/],
      ['1-0', { ...base, lines: `[["${'x'.repeat(129)}",0,0,0,0]]` }, /sku longer than 128/],
      ['1-0', { ...base, lines: '[["A ",0,-1,1,0]]' }, /ends with a space/],
      ['1-0', { ...base, kind: 'steal' }, /unknown kind/],
      ['1-0', { ...base, at: 'soon' }, /bad at/],
      ['1-0', { ...base, change_id: '' }, /change_id is empty/],
      ['1-0', { ...base, kind: 'set_limit' }, /per_user/],
      ['1-0', { ...base, kind: 'set_limit', per_user: '-1' }, /bad per_user/],
      ['nope', base, /bad stream id/],
    ];
    for (const [id, f, re] of bad) {
      const r = parseLedgerEntry(id, fields(f));
      expect(r, JSON.stringify(f)).toHaveProperty('error');
      expect((r as { error: string }).error).toMatch(re);
    }
    const missing: Record<string, string> = { ...base };
    delete missing.lines;
    expect(parseLedgerEntry('1-0', fields(missing))).toEqual({ error: 'missing field lines' });
    expect(parseLedgerEntry('1-0', ['odd'])).toEqual({ error: 'odd field/value list' });
  });

  it('orders SKUs like utf8mb4_bin (code points), not UTF-16 units', () => {
    const skus = ['b', 'B', 'a', '\u{1F600}', '\uFF01', 'é'];
    expect([...skus].sort(compareSku)).toEqual(['B', 'a', 'b', 'é', '\uFF01', '\u{1F600}']);
  });
});

describe('applyLedgerBatch', () => {
  it('applies a batch: stock rows equal the sum of deltas, one ledger row per (change, sku)', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const [A, B] = [`${p}A`, `${p}B`];
    const entries = [
      f.restock(A, 10),
      f.restock(B, 5),
      f.reserve(`${p}c1`, [
        [A, 2],
        [B, 1],
      ]),
      f.extend(`${p}c1`, [A, B]),
      f.confirm(`${p}c1`, [
        [A, 2],
        [B, 1],
      ]),
      f.reserve(`${p}c2`, [[A, 3]]),
      f.expire(`${p}c2`, [[A, 3]]),
    ];
    const res = await applyLedgerBatch(db.pool, 'main', entries);
    expect(res).toMatchObject({
      applied: 7,
      duplicates: 0,
      incidents: [],
      rowsWritten: 10,
      attempts: 1,
    });
    const stock = await readStock(db.pool, [A, B]);
    expect(stock.get(A)).toEqual({ total: 10, available: 8, held: 0, sold: 2, perUser: 0 });
    expect(stock.get(B)).toEqual({ total: 5, available: 4, held: 0, sold: 1, perUser: 0 });
    const sums = await ledgerSums(db.pool);
    for (const sku of [A, B]) {
      const { perUser: _p, ...s } = stock.get(sku)!;
      expect(sums.get(sku)).toEqual(s);
    }
    const [rows] = await db.pool.query<RowDataPacket[]>(
      'SELECT change_id, sku, kind, event_id, checkout_id, shard, stream_ms, stream_seq, at_ms, per_user ' +
        'FROM inventory_ledger WHERE change_id = ? ORDER BY sku',
      [entries[2]!.changeId],
    );
    const [ms, seq] = entries[2]!.streamId.split('-').map(Number);
    expect(rows).toEqual([
      expect.objectContaining({
        sku: A,
        kind: 'reserve',
        event_id: `${p}e3`,
        checkout_id: `${p}c1`,
        shard: 'main',
        stream_ms: ms,
        stream_seq: seq,
        at_ms: entries[2]!.atMs,
        per_user: null,
      }),
      expect.objectContaining({ sku: B }),
    ]);
  });

  it('re-applying the same batch (and a shuffled, partly repeated one) changes nothing', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const A = `${p}A`;
    const entries = [f.restock(A, 10), f.reserve(`${p}c`, [[A, 4]]), f.cancel(`${p}c`, [[A, 4]])];
    const first = await applyLedgerBatch(db.pool, 'main', entries);
    expect(first.applied).toBe(3);
    const before = await readStock(db.pool, [A]);
    const rowsBefore = await count(db.pool, 'SELECT COUNT(*) FROM inventory_ledger');

    const again = await applyLedgerBatch(db.pool, 'main', entries);
    expect(again).toMatchObject({ applied: 0, duplicates: 3, rowsWritten: 0, incidents: [] });
    const shuffled = [entries[2]!, entries[0]!, entries[2]!, entries[1]!, entries[0]!];
    const third = await applyLedgerBatch(db.pool, 'main', shuffled);
    expect(third).toMatchObject({ applied: 0, duplicates: 5, rowsWritten: 0 });

    expect(await readStock(db.pool, [A])).toEqual(before);
    expect(await count(db.pool, 'SELECT COUNT(*) FROM inventory_ledger')).toBe(rowsBefore);
  });

  it('collapses duplicates within a batch and applies in stream order whatever the array order', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const A = `${p}A`;
    const restock = f.restock(A, 3);
    const reserve = f.reserve(`${p}c`, [[A, 3]]);
    // Reserve listed first: applied first it would take available below 0.
    const res = await applyLedgerBatch(db.pool, 'main', [
      reserve,
      restock,
      reserve,
      { ...restock },
    ]);
    expect(res).toMatchObject({ applied: 2, duplicates: 2, incidents: [] });
    expect((await readStock(db.pool, [A])).get(A)).toMatchObject({
      total: 3,
      available: 0,
      held: 3,
    });
  });

  it('turns an invariant-breaking change into an incident and applies the others', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const [A, B] = [`${p}A`, `${p}B`];
    const entries = [
      f.restock(A, 5),
      f.restock(B, 5),
      f.reserve(`${p}c1`, [[A, 3]]),
      // Would take A's available to -1: not applied, and neither is its B line.
      f.reserve(`${p}c2`, [
        [B, 1],
        [A, 3],
      ]),
      f.confirm(`${p}c1`, [[A, 3]]),
      // Confirms more than is held.
      f.confirm(`${p}c3`, [[B, 1]]),
      // Not conserving.
      f.make('compensate', [[B, 1, 0, 0, 0]]),
      f.reserve(`${p}c4`, [[B, 2]]),
    ];
    const res = await applyLedgerBatch(db.pool, 'main', entries);
    expect(res.applied).toBe(5);
    expect(
      res.incidents.map((i) => [i.changeId, i.reason, i.violations.map((v) => v.sku), i.repeated]),
    ).toEqual([
      [entries[3]!.changeId, 'negative_available', [A], false],
      [entries[5]!.changeId, 'negative_counter', [B], false],
      [entries[6]!.changeId, 'not_conserved', [B], false],
    ]);
    // Confirming units that are not held would take held to -1.
    expect(res.incidents[1]!.violations[0]!.detail).toContain('"held":-1');
    const stock = await readStock(db.pool, [A, B]);
    expect(stock.get(A)).toMatchObject({ total: 5, available: 2, held: 0, sold: 3 });
    expect(stock.get(B)).toMatchObject({ total: 5, available: 3, held: 2, sold: 0 });
    expect(
      await count(db.pool, 'SELECT COUNT(*) FROM inventory_ledger WHERE change_id IN (?)', [
        res.incidents.map((i) => i.changeId),
      ]),
    ).toBe(0);

    const [rows] = await db.pool.query<RowDataPacket[]>(
      'SELECT change_id, sku, reason, stream_id, shard, occurrences FROM ledger_incidents WHERE change_id IN (?) ORDER BY id',
      [res.incidents.map((i) => i.changeId)],
    );
    expect(rows).toEqual([
      {
        change_id: entries[3]!.changeId,
        sku: A,
        reason: 'negative_available',
        stream_id: entries[3]!.streamId,
        shard: 'main',
        occurrences: 1,
      },
      {
        change_id: entries[5]!.changeId,
        sku: B,
        reason: 'negative_counter',
        stream_id: entries[5]!.streamId,
        shard: 'main',
        occurrences: 1,
      },
      {
        change_id: entries[6]!.changeId,
        sku: B,
        reason: 'not_conserved',
        stream_id: entries[6]!.streamId,
        shard: 'main',
        occurrences: 1,
      },
    ]);

    // Redelivery: every refused change is evaluated again against the current books. The
    // over-confirm of B now finds held units (c4's) and goes through, its incident resolved;
    // the others are refused again (flagged repeated, occurrences 2, no new rows).
    const again = await applyLedgerBatch(db.pool, 'main', entries);
    expect(again).toMatchObject({ applied: 1, duplicates: 5, resolved: 1 });
    expect(again.incidents.map((i) => [i.changeId, i.repeated])).toEqual([
      [entries[3]!.changeId, true],
      [entries[6]!.changeId, true],
    ]);
    const [after] = await db.pool.query<RowDataPacket[]>(
      'SELECT change_id, occurrences, resolved_at IS NOT NULL AS resolved FROM ledger_incidents WHERE change_id IN (?) ORDER BY id',
      [res.incidents.map((i) => i.changeId)],
    );
    expect(after).toEqual([
      { change_id: entries[3]!.changeId, occurrences: 2, resolved: 0 },
      { change_id: entries[5]!.changeId, occurrences: 1, resolved: 1 },
      { change_id: entries[6]!.changeId, occurrences: 2, resolved: 0 },
    ]);
    expect((await readStock(db.pool, [A, B])).get(B)).toMatchObject({
      total: 5,
      available: 3,
      held: 1,
      sold: 1,
    });
  });

  it('a change delivered before the one it depends on is refused, then applied on redelivery', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const A = `${p}A`;
    const first = [f.restock(A, 5), f.reserve(`${p}c`, [[A, 2]])];
    const second = [f.confirm(`${p}c`, [[A, 2]])];
    // Another consumer commits the later batch first (scale-out, or a reclaimed pending entry).
    const early = await applyLedgerBatch(db.pool, 'main', second);
    expect(early.incidents.map((i) => i.reason)).toEqual(['negative_counter']);
    expect(await applyLedgerBatch(db.pool, 'main', first)).toMatchObject({ applied: 2 });
    const late = await applyLedgerBatch(db.pool, 'main', second);
    expect(late).toMatchObject({ applied: 1, resolved: 1, incidents: [] });
    expect((await readStock(db.pool, [A])).get(A)).toMatchObject({
      total: 5,
      available: 3,
      held: 0,
      sold: 2,
    });
    expect(
      await count(
        db.pool,
        'SELECT COUNT(*) FROM ledger_incidents WHERE change_id = ? AND resolved_at IS NULL',
        [second[0]!.changeId],
      ),
    ).toBe(0);
  });

  it('records malformed entries as invalid_entry incidents', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const A = `${p}A`;
    const good = f.restock(A, 1);
    const bad = { ...f.restock(`${p}B `, 1) };
    const worse = { ...f.restock(A, 1), lines: [[A, 0.5, 0.5, 0, 0]] } as unknown as LedgerEntry;
    const res = await applyLedgerBatch(db.pool, 'main', [good, bad, worse]);
    expect(res.applied).toBe(1);
    expect(res.incidents.map((i) => [i.changeId, i.reason])).toEqual([
      [bad.changeId, 'invalid_entry'],
      [worse.changeId, 'invalid_entry'],
    ]);
    expect(res.incidents[0]!.violations[0]!.detail).toMatch(/ends with a space/);
    expect(
      await count(
        db.pool,
        "SELECT COUNT(*) FROM ledger_incidents WHERE reason = 'invalid_entry' AND change_id IN (?)",
        [[bad.changeId, worse.changeId]],
      ),
    ).toBe(2);
  });

  it('set_limit sets per_user_limit (also on a new SKU) and writes per_user in the ledger', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const [A, B] = [`${p}A`, `${p}B`];
    const res = await applyLedgerBatch(db.pool, 'main', [
      f.restock(A, 4),
      f.setLimit(A, 2),
      f.setLimit(B, 7),
      f.setLimit(A, 3),
    ]);
    expect(res).toMatchObject({ applied: 4, incidents: [] });
    const stock = await readStock(db.pool, [A, B]);
    expect(stock.get(A)).toEqual({ total: 4, available: 4, held: 0, sold: 0, perUser: 3 });
    expect(stock.get(B)).toEqual({ total: 0, available: 0, held: 0, sold: 0, perUser: 7 });
    expect(
      await count(
        db.pool,
        "SELECT COUNT(*) FROM inventory_ledger WHERE kind = 'set_limit' AND per_user IS NOT NULL AND sku IN (?)",
        [[A, B]],
      ),
    ).toBe(3);
    // Setting the same limit again is a no-op on the row, not an error.
    const same = await applyLedgerBatch(db.pool, 'main', [f.setLimit(A, 3), f.setLimit(A, 0)]);
    expect(same).toMatchObject({ applied: 2, incidents: [] });
    expect((await readStock(db.pool, [A])).get(A)!.perUser).toBe(0);
    // Alone, a set_limit that changes nothing on the row is fine too.
    expect(await applyLedgerBatch(db.pool, 'main', [f.setLimit(A, 0)])).toMatchObject({
      applied: 1,
    });
  });

  it('a beforeCommit failure rolls the whole batch back; the re-run applies it once', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const A = `${p}A`;
    const batch = [f.restock(A, 5), f.reserve(`${p}c`, [[A, 2]])];
    await expect(
      applyLedgerBatch(db.pool, 'main', batch, {
        beforeCommit: () => {
          throw new Error('injected');
        },
      }),
    ).rejects.toThrow('injected');
    expect(await readStock(db.pool, [A])).toEqual(new Map());
    expect(await applyLedgerBatch(db.pool, 'main', batch)).toMatchObject({ applied: 2 });
    expect((await readStock(db.pool, [A])).get(A)).toMatchObject({
      total: 5,
      available: 3,
      held: 2,
    });
  });

  it('handles an empty batch and a batch of only duplicates without writing', async () => {
    expect(await applyLedgerBatch(db.pool, 'main', [])).toEqual({
      applied: 0,
      duplicates: 0,
      incidents: [],
      rowsWritten: 0,
      resolved: 0,
      attempts: 1,
    });
  });

  it('applies a 2000-entry batch touching 2000 SKUs with multi-line changes (chunked statements)', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const skus = Array.from({ length: 2000 }, (_, i) => `${p}sku-${i}`);
    const model = new Model();
    const entries: LedgerEntry[] = skus.map((s) => f.restock(s, 100));
    const res1 = await applyLedgerBatch(db.pool, 'big', entries);
    expect(res1).toMatchObject({ applied: 2000, rowsWritten: 2000 });
    entries.forEach((e) => model.apply(e));
    const batch: LedgerEntry[] = [];
    for (let i = 0; i < 2000; i++) {
      const lines = Array.from(
        { length: 10 },
        (_, k) => [skus[(i * 7 + k * 13) % 2000]!, 1] as [string, number],
      );
      const uniq = [...new Map(lines).entries()];
      batch.push(f.reserve(`${p}c${i}`, uniq));
    }
    const res2 = await applyLedgerBatch(db.pool, 'big', batch);
    batch.forEach((e) => model.apply(e));
    expect(res2.applied).toBe(2000);
    expect(res2.incidents).toEqual([]);
    expect(res2.rowsWritten).toBe(batch.reduce((n, e) => n + e.lines.length, 0));
    const stock = await readStock(db.pool, skus);
    for (const s of skus) expect(stock.get(s), s).toEqual(model.stock.get(s));
    // And all of it again: nothing changes.
    const res3 = await applyLedgerBatch(db.pool, 'big', [...entries, ...batch]);
    expect(res3).toMatchObject({ applied: 0, duplicates: 4000, rowsWritten: 0 });
  });

  it('refuses a change that would take a counter beyond 2^53 (out_of_range)', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const A = `${p}A`;
    const small = f.restock(A, 1);
    const huge = f.restock(A, Number.MAX_SAFE_INTEGER);
    const res = await applyLedgerBatch(db.pool, 'main', [small, huge]);
    expect(res.applied).toBe(1);
    expect(res.incidents.map((i) => [i.changeId, i.reason])).toEqual([
      [huge.changeId, 'out_of_range'],
    ]);
    expect((await readStock(db.pool, [A])).get(A)).toMatchObject({ total: 1, available: 1 });
  });

  it('rolls back everything on a permanent error and releases the connection', async () => {
    const p = scope();
    const f = new EntryFactory(p);
    const A = `${p}A`;
    const ok = f.restock(A, 1);
    // A shard name longer than the column: the ledger INSERT fails (strict mode), after the
    // stock rows were created and locked. Nothing of the batch may remain.
    const err = await applyLedgerBatch(db.pool, 'x'.repeat(65), [ok]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isRetryableMysqlError(err)).toBe(false);
    expect(await readStock(db.pool, [A])).toEqual(new Map());
    expect(
      await count(db.pool, 'SELECT COUNT(*) FROM inventory_ledger WHERE change_id = ?', [
        ok.changeId,
      ]),
    ).toBe(0);
    // The pool is healthy afterwards.
    expect(await applyLedgerBatch(db.pool, 'main', [ok])).toMatchObject({ applied: 1 });
  });
});
