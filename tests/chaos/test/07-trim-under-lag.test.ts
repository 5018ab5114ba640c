/**
 * 7. Trim under lag: the workers trim acknowledged entries every HOUSEKEEPING_MS (200 ms
 * here); trimming must never drop an entry some group has not acked, however far behind it is.
 *
 *   - a slow outside consumer group on checkout:events ("chaos-lagger", created before any
 *     traffic) and one on the ledger stream ("chaos-audit") read far behind the services while
 *     ingest and the ledger-writers trim those streams: at the end each must have read every
 *     entry ever added (compared with the test's record and with MySQL's ledger);
 *   - the ledger-writer is down while the backlog builds, then two replicas start; one is
 *     SIGKILLed holding pending entries and stays down 6 s while the other trims: its pending
 *     entries must still be there to be claimed;
 *   - a sampler checks every 100 ms that every pending entry of every group still exists.
 */
import { expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { scenario, names, sleep, until } from '../src/harness.js';
import { Shoppers } from '../src/load.js';
import { mysqlQuery } from '../src/harness.js';

const HK = { HOUSEKEEPING_MS: '200' };

/** Reads a group slowly; returns everything it got (entry id → fields). */
function slowConsumer(
  redis: Redis,
  stream: string,
  group: string,
  perRead: number,
  pauseMs: number,
  stop: () => boolean,
) {
  const got = new Map<string, Record<string, string>>();
  const done = (async () => {
    for (;;) {
      const res = (await redis.xreadgroup(
        'GROUP',
        group,
        'slow',
        'COUNT',
        perRead,
        'STREAMS',
        stream,
        '>',
      )) as Array<[string, Array<[string, string[] | null]>]> | null;
      const entries = res?.[0]?.[1] ?? [];
      for (const [id, flat] of entries) {
        const f: Record<string, string> = {};
        for (let i = 0; flat && i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
        got.set(id, f);
      }
      if (entries.length) await redis.xack(stream, group, ...entries.map((e) => e[0]));
      if (!entries.length && stop()) return;
      await sleep(entries.length ? pauseMs : 200);
    }
  })().catch((err: unknown) => {
    console.log(`[chaos] slow consumer ${group} failed: ${String(err)}`);
    throw err;
  });
  return { got, done };
}

/** Every pending entry of every group of `streams` still exists in its stream. */
async function pendingIntact(redis: Redis, streams: string[]): Promise<string[]> {
  const bad: string[] = [];
  for (const s of streams) {
    const groups = (await redis.xinfo('GROUPS', s).catch(() => [])) as unknown[][];
    for (const g of groups) {
      const name = String(g[g.indexOf('name') + 1]);
      const pel = (await redis.xpending(s, name, '-', '+', 1000)) as Array<
        [string, string, number, number]
      >;
      if (!pel.length) continue;
      const p = redis.pipeline();
      for (const [id] of pel) p.xrange(s, id, id);
      const res = (await p.exec()) ?? [];
      res.forEach(([, v], i) => {
        if (!(v as unknown[]).length)
          bad.push(`${s} group ${name}: pending entry ${pel[i]![0]} was trimmed`);
      });
    }
  }
  return bad;
}

it('07 trimming never drops unacked entries under lag', async () => {
  await scenario(
    '07',
    'trim under lag (slow outside groups, writer down then killed holding entries)',
    {},
    async (stage) => {
      const n = names(stage.namespace);
      await stage.redis.xgroup('CREATE', n.events, 'chaos-lagger', '0', 'MKSTREAM');
      await stage.redis.xgroup('CREATE', n.ledger, 'chaos-audit', '0', 'MKSTREAM');
      await stage.fleet({ name: 's7base', only: ['ingest', 'reserver', 'reconciler'], env: HK });
      await stage.arm(Object.fromEntries(Array.from({ length: 10 }, (_, s) => [`T${s}`, 250])));
      stage.startSampler();
      const violations: string[] = [];
      let checking = true;
      let pelChecks = 0;
      const pelSampler = (async () => {
        while (checking) {
          violations.push(
            ...(await pendingIntact(stage.redis, [n.events, n.inbound, n.ledger, n.admin]).catch(
              () => [],
            )),
          );
          pelChecks++;
          await sleep(100);
        }
      })();
      const shoppers = new Shoppers({
        redisUrl: stage.redisUrl,
        traffic: stage.traffic,
        checkouts: 2500,
        ratePerSec: 500,
        prefix: 'o',
        cart: (i) => [[`T${i % 10}`, 1]],
      }).start();
      await shoppers.sent();
      // The services kept up and trimmed what they acked — but the lagger has read nothing, so
      // checkout:events must still hold every entry.
      await until(async () => {
        const groups = (await stage.redis.xinfo('GROUPS', n.inbound)) as unknown[][];
        return groups.every(
          (g) => Number(g[g.indexOf('pending') + 1]) === 0 && Number(g[g.indexOf('lag') + 1]) === 0,
        );
      }, 'the reserver caught up');
      // Every entry sent so far must still be there. (Ids are taken before the stream is read:
      // the shoppers keep sending follow-ups, and entries added after the read don't count.)
      const sentIds = [...stage.traffic.events.values()].flatMap((e) => e.ids);
      const inStream = new Set<string>();
      for (let start = '-'; ;) {
        const page = (await stage.redis.xrange(n.events, start, '+', 'COUNT', 5000)) as Array<
          [string, string[]]
        >;
        for (const [id] of page) inStream.add(id);
        if (page.length < 5000) break;
        start = `(${page[page.length - 1]![0]}`;
      }
      const sentEntries = sentIds.length;
      const eventsLenUnread = sentIds.filter((id) => inStream.has(id)).length;
      const ledgerBacklog = await stage.redis.xlen(n.ledger);
      stage.log(
        `checkout:events holds ${eventsLenUnread} of ${sentEntries} entries; ledger backlog ${ledgerBacklog}`,
      );

      // The writers start far behind; one dies holding entries and stays down 6 s.
      const writers = await stage.fleet({
        name: 's7w',
        only: ['ledger-writer'],
        replicas: 2,
        backoff: { initialMs: 6000, maxMs: 6000 },
        env: {
          ...HK,
          BATCH_SIZE: '100',
          LEDGER_MAX_ROWS_PER_SECOND: '1500',
          CLAIM_IDLE_MS: '1500',
        },
      });
      let stopSlow = false;
      const lagger = slowConsumer(stage.redis, n.events, 'chaos-lagger', 150, 250, () => stopSlow);
      const audit = slowConsumer(stage.redis, n.ledger, 'chaos-audit', 100, 250, () => stopSlow);
      const killedAt = Date.now();
      const held = await writers.killWhenBusy(
        writers.child('ledger-writer', 0),
        stage.redis,
        n.ledger,
        'ledger-writer',
        10_000,
        50,
      );
      stage.log(`writer #0 SIGKILLed holding ${held} entries`);
      await sleep(1000);
      const intactAfterKill = await pendingIntact(stage.redis, [n.ledger]);
      const recovery = stage.recovery(killedAt);
      await writers.waitAllRunning();
      const recoverMs = await recovery;
      // The slow readers keep reading until the fleet is quiet (quiet includes their groups).
      await stage.quiesce();
      await shoppers.stop();
      stopSlow = true;
      await Promise.all([lagger.done, audit.done]);
      checking = false;
      await pelSampler;

      // The slow readers saw everything, despite the trimming around them.
      const eventIds = new Set([...stage.traffic.events.values()].flatMap((e) => e.ids));
      const laggerMissed = [...eventIds].filter((id) => !lagger.got.has(id));
      const changes = (await mysqlQuery(
        stage.mysqlUrl,
        'SELECT DISTINCT change_id FROM inventory_ledger',
      )) as Array<{ change_id: string }>;
      const auditChanges = new Set([...audit.got.values()].map((f) => f.change_id));
      const auditMissed = changes.map((c) => c.change_id).filter((id) => !auditChanges.has(id));
      // And trimming does work once everyone acked.
      await sleep(600);
      const eventsLenEnd = await stage.redis.xlen(n.events);
      const ledgerLenEnd = await stage.redis.xlen(n.ledger);
      const r = await stage.check();
      const f = stage.finish(
        '07',
        'trim under lag (slow outside groups, writer down then killed holding entries)',
        r,
        {
          recoverMs,
          crashingFleets: [writers],
          notes:
            `checkout:events kept ${eventsLenUnread}/${sentEntries} entries while unread; lagger read ${lagger.got.size}, missed ${laggerMissed.length}; ` +
            `audit read ${audit.got.size} ledger entries, missed ${auditMissed.length} of ${changes.length} changes; ledger backlog ${ledgerBacklog}; ` +
            `killed writer held ${held}; ${pelChecks} PEL checks, ${violations.length} trimmed pending entries; lengths at the end: events ${eventsLenEnd}, ledger ${ledgerLenEnd}`,
          lateExpiriesFail: true,
          extraFailures: {
            trimmedPending: [...violations, ...intactAfterKill].slice(0, 10),
            laggerMissed: laggerMissed.slice(0, 10),
            auditMissed: auditMissed.slice(0, 10),
          },
        },
      );
      expect(f).toEqual({});
      expect(eventsLenUnread).toBe(sentEntries);
      expect(held).toBeGreaterThan(0);
      expect(eventsLenEnd).toBeLessThan(sentEntries / 2);
    },
  );
});
