/**
 * The writer's retry paths, in process, on real Redis and MariaDB: a change MySQL refuses for
 * now (quick retries, then pending, then an incident) and MySQL going away (the batch retried
 * until it is back; a stop meanwhile gives the batch back). MySQL "goes away" behind a TCP
 * proxy that the test closes, cutting every connection.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GROUPS,
  Keys,
  createLogger,
  createRegistry,
  createRedis,
  type Redis,
  type Registry,
} from '@holdfast/shared';
import { backlog } from '@holdfast/shared/inspect';
import { waitFor } from '@holdfast/testkit';
import { ledgerWriterEnv } from './config.js';
import type { LedgerEntry } from './ledger-entry.js';
import { LedgerWriter } from './writer.js';
import { EntryFactory, Model, count, freshDb, readStock, type Db } from '../test/ledger-helpers.js';

let db: Db;
let redis: Redis;
beforeAll(async () => {
  db = await freshDb();
  redis = createRedis(db.env.redisUrl, { name: 'test' });
});
afterAll(async () => {
  redis?.disconnect();
  await db?.close();
});

const log = createLogger('ledger-writer', 'silent');
const FAST = {
  CLAIM_IDLE_MS: '1000',
  HOUSEKEEPING_MS: '300',
  BLOCK_MS: '100',
  RETRY_MAX_MS: '100',
};

function writer(env: Record<string, string> = {}): { w: LedgerWriter; registry: Registry } {
  const registry = createRegistry('ledger-writer');
  const cfg = ledgerWriterEnv.parse({ ...db.env.env, ...FAST, ...env });
  return { w: new LedgerWriter(cfg, log, registry), registry };
}

/** The fields the reserver's Lua writes for `e` (docs/architecture.md). */
function fieldsOf(e: LedgerEntry): string[] {
  return [
    ...['change_id', e.changeId, 'kind', e.kind, 'event_id', e.eventId],
    ...['checkout_id', e.checkoutId, 'at', String(e.atMs), 'lines', JSON.stringify(e.lines)],
    ...(e.perUser !== undefined ? ['per_user', String(e.perUser)] : []),
  ];
}

async function counter(registry: Registry, name: string, reason: string): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** A TCP proxy in front of MariaDB: down() refuses and cuts every connection, up() reopens. */
async function mysqlProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 3306), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    url(db: string) {
      const u = new URL(db);
      u.host = `127.0.0.1:${port}`;
      return u.toString();
    },
    async down() {
      for (const s of sockets) s.destroy();
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
    async up() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}

describe('LedgerWriter', () => {
  it('re-tries a refused change 3 times within about a second, then leaves it pending, then dead-letters it', async () => {
    const f = new EntryFactory('refused-');
    const { w, registry } = writer();
    try {
      const restock = f.restock('refused-A', 5);
      // Confirms a hold whose reserve never arrives: held would go below 0.
      const orphan = f.confirm('refused-c', [['refused-A', 2]]);
      const delivered = (deliveries: number) =>
        [restock, orphan].map((e) => ({ id: e.streamId, fields: fieldsOf(e), deliveries }));
      const occurrences = () =>
        count(db.pool, 'SELECT occurrences FROM ledger_incidents WHERE change_id = ?', [
          orphan.changeId,
        ]);

      const started = performance.now();
      expect(await w.handle(delivered(1), log)).toEqual([{ kind: 'ack' }, { kind: 'retry' }]);
      // 100 + 300 + 900 ms of waiting; the first refusal and three re-tries each recorded.
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_290);
      expect(await occurrences()).toBe(4);
      expect(await counter(registry, 'holdfast_ledger_incidents_total', 'negative_counter')).toBe(
        0,
      );

      // The last delivery LEDGER_INCIDENT_DELIVERIES (5) allows: an incident, dead-lettered.
      const last = await w.handle(delivered(5), log);
      expect(last[0]).toEqual({ kind: 'ack' }); // a duplicate now
      expect(last[1]).toMatchObject({ kind: 'dead', reason: 'ledger_incident' });
      expect((last[1] as { detail: string }).detail).toMatch(/^negative_counter: /);
      expect(await occurrences()).toBe(8);
      expect(await counter(registry, 'holdfast_ledger_incidents_total', 'negative_counter')).toBe(
        1,
      );
      expect((await readStock(db.pool, ['refused-A'])).get('refused-A')).toMatchObject({
        total: 5,
        available: 5,
        held: 0,
        sold: 0,
      });
    } finally {
      await w.stop();
    }
  });

  it('MySQL gone: retries the batch until it is back; a stop meanwhile gives the batch back', async () => {
    const proxy = await mysqlProxy(new URL(db.env.mysqlUrl));
    const keys = new Keys(db.env.namespace, 'main');
    const stream = keys.shard().ledger;
    const f = new EntryFactory('gone-');
    const model = new Model();
    /** In one MULTI: the writer reads them as one batch. */
    const add = async (...es: LedgerEntry[]) => {
      const m = redis.multi();
      for (const e of es) {
        model.apply(e);
        m.xadd(stream, e.streamId, ...fieldsOf(e));
      }
      await m.exec();
    };
    const env = { MYSQL_URL: proxy.url(db.env.mysqlUrl) };
    const first = writer(env);
    const second = writer(env);
    const retries = () => counter(first.registry, 'holdfast_ledger_retries_total', 'connection');
    try {
      await first.w.start();
      await proxy.down();
      await add(f.restock('gone-A', 5), f.reserve('gone-c1', [['gone-A', 2]]));
      // A batch that failed all its transaction attempts marks MySQL unhealthy and is retried.
      await waitFor(() => first.w.health() === 'mysql unreachable (retrying)', {
        what: 'the writer noticing MySQL is gone',
      });
      expect(await retries()).toBeGreaterThanOrEqual(3);

      await proxy.up();
      await waitFor(async () => (await backlog(redis, stream)) === 0, { what: 'backlog applied' });
      expect(first.w.health()).toBe(null);

      await proxy.down();
      await add(f.confirm('gone-c1', [['gone-A', 2]]), f.restock('gone-B', 3));
      const before = await retries();
      await waitFor(async () => (await retries()) > before, { what: 'retries after the 2nd cut' });
      await first.w.stop();
      // Neither acked nor dead-lettered: pending, for whoever runs next.
      const [pending] = (await redis.xpending(stream, GROUPS.ledgerWriter)) as [number];
      expect(pending).toBe(2);
      expect(await redis.xlen(keys.streams.dead)).toBe(0);

      await proxy.up();
      await second.w.start();
      await waitFor(async () => (await backlog(redis, stream)) === 0, {
        what: 'the stopped writer’s entries claimed and applied',
      });
      const stock = await readStock(db.pool, ['gone-A', 'gone-B']);
      for (const sku of ['gone-A', 'gone-B']) expect(stock.get(sku)).toEqual(model.stock.get(sku));
      expect(
        await count(
          db.pool,
          "SELECT COUNT(*) FROM inventory_ledger WHERE change_id LIKE '%gone-%'",
        ),
      ).toBe(model.rows);
    } finally {
      await first.w.stop();
      await second.w.stop();
      await proxy.down();
    }
  });
});
