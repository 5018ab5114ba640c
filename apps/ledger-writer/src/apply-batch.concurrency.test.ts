/**
 * Several ledger-writers applying overlapping batches at once (the same entries delivered to
 * several of them): every change must land exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@holdfast/testkit';
import type { RowDataPacket } from '@holdfast/shared/mysql';
import {
  RetryableMysqlError,
  applyLedgerBatch,
  type ApplyResult,
  type LedgerEntry,
  type RetryLabel,
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
  db = await freshDb(12);
});
afterAll(async () => {
  await db?.close();
});

/** Deterministic PRNG so a failure can be replayed (seed printed in the assertion message). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Changes that are valid in ANY order on top of the seed (so out-of-order batches from
 * competing writers never look like invariant breaks): reserves draw from a large available
 * pool, confirms/cancels from a large held pool, restocks only add.
 */
function orderFreeChanges(
  f: EntryFactory,
  skus: string[],
  n: number,
  rand: () => number,
): LedgerEntry[] {
  const reserveBudget = new Map(skus.map((s) => [s, 4000]));
  const releaseBudget = new Map(skus.map((s) => [s, 4000]));
  const out: LedgerEntry[] = [];
  while (out.length < n) {
    const k = Math.floor(rand() * 5);
    const width = 1 + Math.floor(rand() * 3);
    const start = Math.floor(rand() * skus.length);
    const lineSkus = Array.from({ length: width }, (_, i) => skus[(start + i) % skus.length]!);
    const uniq = [...new Set(lineSkus)];
    const lines = uniq.map((s) => [s, 1 + Math.floor(rand() * 5)] as [string, number]);
    const co = `co${out.length}`;
    if (k === 0) {
      if (lines.some(([s, q]) => reserveBudget.get(s)! < q)) continue;
      lines.forEach(([s, q]) => reserveBudget.set(s, reserveBudget.get(s)! - q));
      out.push(f.reserve(co, lines));
    } else if (k === 1 || k === 2) {
      if (lines.some(([s, q]) => releaseBudget.get(s)! < q)) continue;
      lines.forEach(([s, q]) => releaseBudget.set(s, releaseBudget.get(s)! - q));
      out.push(k === 1 ? f.confirm(co, lines) : f.cancel(co, lines));
    } else if (k === 3) {
      out.push(f.restock(lines[0]![0], lines[0]![1]));
    } else {
      out.push(f.extend(co, uniq));
    }
  }
  return out;
}

/** Splits `xs` into batches of random sizes, starting at a random offset (wrapping). */
function randomBatches<T>(xs: T[], rand: () => number, min = 5, max = 60): T[][] {
  const offset = Math.floor(rand() * xs.length);
  const rotated = [...xs.slice(offset), ...xs.slice(0, offset)];
  const out: T[][] = [];
  for (let i = 0; i < rotated.length;) {
    const size = min + Math.floor(rand() * (max - min + 1));
    out.push(rotated.slice(i, i + size));
    i += size;
  }
  // Random redeliveries of a few earlier batches, and batches in random order.
  for (let r = 0; r < 3; r++) out.push(out[Math.floor(rand() * out.length)]!);
  return out.sort(() => rand() - 0.5);
}

describe('concurrent appliers', () => {
  it('3 appliers, overlapping batches on overlapping SKUs: one ledger row per (change, sku), exact totals', async () => {
    const seed = Date.now() % 1_000_000;
    const rand = rng(seed);
    const f = new EntryFactory('conc-');
    const shard = 'conc';
    const skus = Array.from({ length: 6 }, (_, i) => `conc-SKU-${i}`);
    const model = new Model();

    // Seed: plenty of stock, half of it held.
    const seedEntries = [
      ...skus.map((s) => f.restock(s, 10_000)),
      ...skus.map((s, i) => f.reserve(`seed${i}`, [[s, 5000]])),
    ];
    await applyLedgerBatch(db.pool, shard, seedEntries);
    seedEntries.forEach((e) => model.apply(e));

    const changes = orderFreeChanges(f, skus, 600, rand);
    changes.forEach((e) => model.apply(e));

    const retries: RetryLabel[] = [];
    const applier = async (batches: LedgerEntry[][]) => {
      const results: ApplyResult[] = [];
      for (const b of batches) {
        results.push(
          await applyLedgerBatch(db.pool, shard, b, {
            maxAttempts: 20,
            onRetry: (label) => retries.push(label),
          }),
        );
      }
      return results;
    };
    const all = (
      await Promise.all([0, 1, 2].map(() => applier(randomBatches(changes, rand))))
    ).flat();

    const msg = `seed ${seed}`;
    const applied = all.reduce((n, r) => n + r.applied, 0);
    const rowsWritten = all.reduce((n, r) => n + r.rowsWritten, 0);
    const lines = changes.reduce((n, e) => n + e.lines.length, 0);
    expect(
      all.flatMap((r) => r.incidents),
      msg,
    ).toEqual([]);
    // Every change applied by exactly one of the three writers.
    expect(applied, msg).toBe(changes.length);
    expect(rowsWritten, msg).toBe(lines);
    expect(
      await count(db.pool, 'SELECT COUNT(*) FROM inventory_ledger WHERE shard = ?', [shard]),
    ).toBe(lines + seedEntries.length);
    const stock = await readStock(db.pool, skus);
    for (const s of skus) expect(stock.get(s), `${msg} ${s}`).toEqual(model.stock.get(s));
    const sums = await ledgerSums(db.pool, shard);
    for (const s of skus) {
      const { perUser: _p, ...row } = stock.get(s)!;
      expect(sums.get(s), `${msg} ${s}`).toEqual(row);
    }
    console.info(
      `concurrent appliers: ${all.length} batches, ${changes.length} changes, retries: ${JSON.stringify(
        retries.reduce<Record<string, number>>((m, l) => ((m[l] = (m[l] ?? 0) + 1), m), {}),
      )}`,
    );
  });

  it('the same batch delivered to 5 writers at the same moment is applied once', async () => {
    const f = new EntryFactory('same-');
    const skus = ['same-A', 'same-B', 'same-C'];
    const model = new Model();
    const batch = [
      ...skus.map((s) => f.restock(s, 100)),
      f.reserve('c1', [
        [skus[0]!, 10],
        [skus[2]!, 5],
      ]),
      f.confirm('c1', [
        [skus[0]!, 10],
        [skus[2]!, 5],
      ]),
      f.reserve('c2', [[skus[1]!, 50]]),
    ];
    batch.forEach((e) => model.apply(e));
    for (let round = 0; round < 5; round++) {
      const res = await Promise.all(
        Array.from({ length: 5 }, () =>
          applyLedgerBatch(db.pool, 'same', batch, { maxAttempts: 20 }),
        ),
      );
      expect(res.reduce((n, r) => n + r.applied, 0)).toBe(round === 0 ? batch.length : 0);
      expect(res.every((r) => r.applied + r.duplicates === batch.length)).toBe(true);
    }
    const stock = await readStock(db.pool, skus);
    for (const s of skus) expect(stock.get(s)).toEqual(model.stock.get(s));
    expect(await count(db.pool, "SELECT COUNT(*) FROM inventory_ledger WHERE shard = 'same'")).toBe(
      model.rows,
    );
  });

  it('writers on disjoint SKUs do not block each other', async () => {
    const f = new EntryFactory('disj-');
    const batches = Array.from({ length: 8 }, (_, w) =>
      Array.from({ length: 50 }, (_, i) => f.restock(`disj-${w}-${i % 10}`, 1)),
    );
    const res = await Promise.all(
      batches.map((b) => applyLedgerBatch(db.pool, 'disj', b, { maxAttempts: 1 })),
    );
    expect(res.reduce((n, r) => n + r.applied, 0)).toBe(400);
    expect(res.every((r) => r.attempts === 1)).toBe(true);
  });

  it('writers on interleaved SKUs of a tiny table never deadlock (no retries allowed)', async () => {
    // Its own database: the optimizer's plan depends on the table being tiny. (On a 6-row table
    // `UPDATE … WHERE sku IN (…)` is a full index scan unless the primary key is forced, and
    // under REPEATABLE READ a scan locks every row it reads: the other writers' rows too, out
    // of order — this test then deadlocks within a few rounds.)
    const own = await freshDb(8);
    try {
      const f = new EntryFactory('tiny-');
      const [a, b, c, d, e, g] = ['a', 'b', 'c', 'd', 'e', 'g'].map((x) => `tiny-${x}`) as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      await applyLedgerBatch(
        own.pool,
        'tiny',
        [a, b, c, d, e, g].map((s) => f.restock(s, 1_000_000)),
      );
      // Each set covers most of the table and each writer misses a row another one has below
      // its own rows: exactly the shape of the deadlock a scan would cause.
      const sets = [
        [b, c, d, e],
        [a, b, g],
        [a, c, d, g],
      ];
      for (let round = 0; round < 60; round++) {
        const res = await Promise.all(
          sets.map((set, w) =>
            applyLedgerBatch(
              own.pool,
              'tiny',
              [0, 1].map((k) =>
                f.reserve(
                  `r${round}w${w}k${k}`,
                  set.map((s) => [s, 1] as [string, number]),
                ),
              ),
              { maxAttempts: 1 },
            ),
          ),
        );
        expect(res.reduce((n, r) => n + r.applied, 0)).toBe(6);
      }
      expect((await readStock(own.pool, [a])).get(a)).toMatchObject({ held: 60 * 2 * 2 });
    } finally {
      await own.close();
    }
  });

  /**
   * Threads of this database currently executing a statement that starts with `prefix`, other
   * than `notThread` (PROCESSLIST: INNODB_TRX is a cache refreshed at most every 100 ms, useless
   * for polling). The thread that just ran a statement can still show it for a moment after the
   * client got the reply, hence `notThread`.
   */
  async function busyWith(prefix: string, notThread: number | null): Promise<number[]> {
    const [rows] = await db.pool.query<RowDataPacket[]>(
      // 'Execute': the hot statements are prepared (ledger-store.ts).
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND COMMAND IN ('Query', 'Execute') AND INFO LIKE ? AND ID <> ?",
      [`${prefix}%`, notThread ?? 0],
    );
    return rows.map((r) => Number(r.id));
  }

  it('a change committed by another writer after our check is a duplicate_race, and the re-run skips it', async () => {
    const f = new EntryFactory('race-');
    const A = 'race-A';
    await applyLedgerBatch(db.pool, 'race', [f.restock(A, 10)]);
    for (const maxAttempts of [1, 3]) {
      const e = f.reserve(`c${maxAttempts}`, [[A, 1]]);
      // "Another writer" inserts the same ledger row without holding the stock lock (which a
      // real writer would hold), so our existence check cannot see it yet.
      const other = await db.pool.getConnection();
      await other.beginTransaction();
      await other.query(
        'INSERT INTO inventory_ledger (change_id, sku, kind, event_id, checkout_id, d_total, d_available, ' +
          "d_held, d_sold, shard, stream_ms, stream_seq, at_ms) VALUES (?, ?, 'reserve', ?, ?, 0, -1, 1, 0, 'race', 1, 0, 0)",
        [e.changeId, A, e.eventId, e.checkoutId],
      );
      const running = applyLedgerBatch(db.pool, 'race', [e], { maxAttempts }).catch(
        (err: unknown) => err,
      );
      await waitFor(
        async () => (await busyWith('INSERT INTO inventory_ledger', other.threadId)).length > 0,
        {
          what: 'writer blocked on the ledger key',
        },
      );
      await other.commit();
      other.release();
      const out = await running;
      if (maxAttempts === 1) {
        expect(out).toBeInstanceOf(RetryableMysqlError);
        expect((out as RetryableMysqlError).label).toBe('duplicate_race');
      } else {
        expect(out).toMatchObject({ applied: 0, duplicates: 1, attempts: 2 });
      }
    }
    // Only the restock moved the stock: the raced changes were (in this simulation) "applied"
    // by the other writer, whose stock update we deliberately left out.
    expect((await readStock(db.pool, [A])).get(A)).toMatchObject({
      total: 10,
      available: 10,
      held: 0,
    });
  });

  it('a connection killed mid-batch is retried on a fresh connection and applies once', async () => {
    const f = new EntryFactory('kill-');
    const A = 'kill-A';
    await applyLedgerBatch(db.pool, 'kill', [f.restock(A, 10)]);
    const blocker = await db.pool.getConnection();
    await blocker.beginTransaction();
    await blocker.query('SELECT * FROM inventory_stock WHERE sku = ? FOR UPDATE', [A]);
    const labels: RetryLabel[] = [];
    const e = f.reserve('c', [[A, 3]]);
    const running = applyLedgerBatch(db.pool, 'kill', [e], { onRetry: (l) => labels.push(l) });
    // Our writer waits for the row lock in its first statement (stock rows, sorted).
    const [victim] = await waitFor(
      async () => {
        const w = await busyWith('INSERT INTO inventory_stock', blocker.threadId);
        return w.length ? w : null;
      },
      { what: 'writer blocked on the stock row' },
    );
    await db.pool.query(`KILL ${Number(victim)}`);
    await blocker.rollback();
    blocker.release();
    expect(await running).toMatchObject({ applied: 1, attempts: 2 });
    expect(labels).toEqual(['connection']);
    expect((await readStock(db.pool, [A])).get(A)).toMatchObject({ available: 7, held: 3 });
    // The pool still works (the killed connection was destroyed, not reused).
    const again = await Promise.all(
      Array.from({ length: 12 }, () => applyLedgerBatch(db.pool, 'kill', [e])),
    );
    expect(again.every((r) => r.duplicates === 1)).toBe(true);
  });
});
