/**
 * The --rtt-ms proxy (src/rtt-proxy.ts, src/rtt-network.ts), with real sockets: bytes arrive
 * intact and in order, chunk by chunk, and a round trip through it never takes less than r.
 * A functional check of the proxy — no assertion about how fast holdfast or anything else is.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type {} from '@holdfast/testkit/global-setup';
import { createRedis } from '@holdfast/shared';
import { createMysqlPool } from '@holdfast/shared/mysql';
import { startRttProxy, type RttProxy } from '../src/rtt-proxy.js';
import { startRttNetwork } from '../src/rtt-network.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A TCP echo server on loopback. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { server, port: (server.address() as { port: number }).port };
}

async function proxy(targetPort: number, delayMs: number): Promise<RttProxy> {
  const p = await startRttProxy({ targetHost: '127.0.0.1', targetPort, delayMs });
  cleanups.push(() => p.close());
  return p;
}

function client(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
    cleanups.push(async () => void s.destroy());
  });
}

describe('rtt proxy', () => {
  it('delivers every byte in order, chunks sent in bursts included', async () => {
    const echo = await echoServer();
    const p = await proxy(echo.port, 3);
    const s = await client(p.port);
    const sent: Buffer[] = [];
    for (let i = 0; i < 500; i++) sent.push(Buffer.from(`chunk ${i};`.repeat(1 + (i % 7))));
    const expected = Buffer.concat(sent);
    const received: Buffer[] = [];
    let got = 0;
    const done = new Promise<void>((resolve) =>
      s.on('data', (d: Buffer) => {
        received.push(d);
        got += d.length;
        if (got >= expected.length) resolve();
      }),
    );
    // Bursts with pauses between them, so chunks are held while more arrive.
    for (let i = 0; i < sent.length; i++) {
      s.write(sent[i]!);
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
    }
    await done;
    expect(Buffer.concat(received).equals(expected)).toBe(true);
    const st = p.stats();
    expect(st.bytes).toBe(expected.length);
    expect(st.holdMs.p50).toBeGreaterThanOrEqual(3);
  });

  it('a Redis PING round trip through it takes at least r', async () => {
    const r = 2;
    const target = new URL(inject('redisUrl'));
    const p = await proxy(Number(target.port || 6379), r);
    target.hostname = '127.0.0.1';
    target.port = String(p.port);
    const redis = createRedis(target.toString(), { name: 'bench-rtt-test' });
    cleanups.push(async () => redis.disconnect());
    await redis.ping();
    const rtts: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      expect(await redis.ping()).toBe('PONG');
      rtts.push(performance.now() - t0);
    }
    expect(Math.min(...rtts)).toBeGreaterThanOrEqual(r);
  });

  it('the proxy process puts r in front of Redis and MySQL and reports its holds', async () => {
    const net = await startRttNetwork(1, inject('redisUrl'), inject('mysqlUrl'));
    cleanups.push(() => net.stop());
    expect(net.pid).toEqual(expect.any(Number));
    const redis = createRedis(net.redisUrl, { name: 'bench-rtt-test' });
    const pool = createMysqlPool(net.mysqlUrl, { connectionLimit: 1 });
    try {
      expect(await redis.ping()).toBe('PONG');
      const t0 = performance.now();
      const [rows] = await pool.query('SELECT 1 AS one');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(1);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      redis.disconnect();
      await pool.end();
    }
    const hold = await net.stop();
    expect(hold?.redis.chunks).toBeGreaterThan(0);
    expect(hold?.mysql.chunks).toBeGreaterThan(0);
    expect(hold?.redis.holdMs.p50).toBeGreaterThanOrEqual(1);
    // Stopped: the process is gone.
    expect(() => process.kill(net.pid!, 0)).toThrow();
  });

  it('r = 0 is the direct connection, no process', async () => {
    const net = await startRttNetwork(0, 'redis://127.0.0.1:6379', 'mysql://root@127.0.0.1:3306/');
    expect(net.pid).toBeUndefined();
    expect(net.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(await net.stop()).toBeUndefined();
  });
});
