/**
 * The ledger-writer as real processes on real Redis and MariaDB: crashes at every point of a
 * batch, claims, duplicate delivery and concurrent writers never lose or double a change.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Gate, Keys, createRedis, type Redis } from '@holdfast/shared';
import { isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';
import { startService, stopAll, type RunningService } from '@holdfast/testkit';
import {
  backlog,
  booksMismatch,
  mysqlLedgerCounts,
  readAllStock,
  readMysqlStock,
  readStream,
  stockViolations,
} from '@holdfast/shared/inspect';

const GATE = {
  dedupeTtlSeconds: 3600,
  outcomesMaxLen: 0,
  holdDefaultSeconds: 600,
  holdMinSeconds: 1,
  holdMaxSeconds: 3600,
  holdMaxTotalSeconds: 7200,
  finishedHoldTtlSeconds: 3600,
};
const FAST = { CLAIM_IDLE_MS: '1000', HOUSEKEEPING_MS: '300', BLOCK_MS: '200', BATCH_SIZE: '100' };

let env: IsolatedEnv;
let redis: Redis;
let keys: Keys;
let services: RunningService[] = [];

async function setup() {
  env = await isolatedEnv();
  keys = new Keys(env.namespace, 'main');
  redis = createRedis(env.redisUrl, { name: 'test' });
}

afterEach(async () => {
  await stopAll(services);
  services = [];
  redis?.disconnect();
  await env?.cleanup();
});

/**
 * Fills the ledger stream by deciding a realistic mix directly through the gate (no ingest or
 * reserver needed): restocks on 8 SKUs, reserves over overlapping SKUs, confirms, cancels,
 * expiries. Returns the number of state changes (ledger entries) made.
 */
async function makeChanges(n: number): Promise<number> {
  const gate = new Gate(keys, GATE);
  let changes = 0;
  for (let s = 0; s < 8; s++) {
    await gate.admin(redis, { type: 'restock', eventId: `a${s}`, sku: `S${s}`, qty: 500 });
    changes++;
  }
  const now = Date.now();
  for (let i = 0; i < n; i += 200) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(n, i + 200); j++) {
      gate.queue(
        p,
        {
          type: 'reserve',
          eventId: `r${j}`,
          checkoutId: `c${j}`,
          userId: `u${j}`,
          lines: [
            [`S${j % 8}`, 1],
            [`S${(j + 3) % 8}`, 2],
          ],
          holdSeconds: 60,
        },
        now,
      );
    }
    const res = (await p.exec())!;
    changes += res.filter(([, v]) => (v as string[])[0] === 'reserved').length;
  }
  const p = redis.pipeline();
  for (let j = 0; j < n; j++) {
    if (j % 3 === 0)
      gate.queue(p, { type: 'confirm', eventId: `k${j}`, checkoutId: `c${j}` }, now + 1);
    if (j % 3 === 1)
      gate.queue(p, { type: 'cancel', eventId: `x${j}`, checkoutId: `c${j}` }, now + 1);
  }
  const res = (await p.exec())!;
  changes += res.filter(([, v]) => ['confirmed', 'cancelled'].includes((v as string[])[0]!)).length;
  changes += await gate.expireDue(redis, 100_000, now + 61_000);
  return changes;
}

async function expectBooksExact(changes: number) {
  await waitFor(async () => (await backlog(redis, keys.shard().ledger)) === 0, {
    timeoutMs: 60_000,
    what: 'ledger drained',
  });
  const red = await readAllStock(redis, keys);
  expect(stockViolations(red)).toEqual([]);
  expect(booksMismatch(red, await readMysqlStock(env.mysqlUrl))).toEqual([]);
  const counts = await mysqlLedgerCounts(env.mysqlUrl);
  expect(counts.changes).toBe(changes);
}

function writer(extra: Record<string, string> = {}) {
  return startService('ledger-writer', { ...env.env, ...FAST, ...extra });
}

describe('ledger-writer', () => {
  it('writes every change exactly once under redelivery and duplicates', async () => {
    await setup();
    const changes = await makeChanges(1500);
    // Duplicate delivery: the same change appended again (as a buggy replay would).
    const first = (await readStream(redis, keys.shard().ledger)).slice(8, 28);
    for (const e of first) {
      const { id: _id, ...fields } = e;
      await redis.xadd(keys.shard().ledger, '*', ...Object.entries(fields).flat());
    }
    services.push(await writer());
    await expectBooksExact(changes);
  });

  for (const point of ['ledger.before_commit', 'ledger.after_commit'] as const) {
    it(`a writer killed -9 at ${point} loses and doubles nothing`, async () => {
      await setup();
      const changes = await makeChanges(1500);
      const victim = await writer({ HOLDFAST_FAULT: `${point}:3` });
      expect(await victim.exited).toBe(null); // killed by a signal
      expect(victim.proc.signalCode).toBe('SIGKILL');
      services.push(await writer());
      await expectBooksExact(changes);
    });
  }

  it('a writer killed -9 while claiming another one’s entries loses and doubles nothing', async () => {
    await setup();
    const changes = await makeChanges(1500);
    const first = await writer({ HOLDFAST_FAULT: 'ledger.before_commit:2' });
    await first.exited;
    // The second writer claims the dead one's pending batch and dies right after the claim.
    const second = await writer({ HOLDFAST_FAULT: 'worker.after_claim:1' });
    await second.exited;
    expect(second.proc.signalCode).toBe('SIGKILL');
    services.push(await writer());
    await expectBooksExact(changes);
  });

  it('three writers at once on overlapping SKUs write each change once', async () => {
    await setup();
    const changes = await makeChanges(3000);
    services.push(...(await Promise.all([writer(), writer(), writer()])));
    await expectBooksExact(changes);
  });
});
