/**
 * --rtt-ms: the network of production put between every client and the servers. For one r,
 * one proxy process (./rtt-proxy-process.ts) holds a delaying proxy in front of Redis and one in
 * front of MySQL; the run's Redis and MySQL URLs are rewritten to point at them, so A's
 * services, B's pool, C's connections and the collateral traffic all pay the same r per round
 * trip. r = 0 runs without a proxy (the direct figures of before).
 */
import type { HoldStats } from './rtt-proxy.js';
import { startScript } from './script-process.js';

export interface RttNetwork {
  delayMs: number;
  redisUrl: string;
  mysqlUrl: string;
  /** The proxy process (watched like a server, but never a system's cost); none at r = 0. */
  pid: number | undefined;
  /** Stops the proxies; their hold statistics (redis, mysql), none at r = 0. */
  stop(): Promise<{ redis: HoldStats; mysql: HoldStats } | undefined>;
}

/** host and port of a redis:// or mysql:// URL (defaults 6379 / 3306). */
function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : u.protocol.startsWith('redis') ? 6379 : 3306;
  return { host: u.hostname || '127.0.0.1', port };
}

/** `url` with its host and port replaced by the proxy's. */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

/** Starts the proxies for `delayMs` in front of the two servers (nothing at 0). */
export async function startRttNetwork(
  delayMs: number,
  redisUrl: string,
  mysqlUrl: string,
): Promise<RttNetwork> {
  if (delayMs <= 0)
    return { delayMs, redisUrl, mysqlUrl, pid: undefined, stop: async () => undefined };
  const spec = { delayMs, targets: [hostPort(redisUrl), hostPort(mysqlUrl)] };
  const proc = startScript(new URL('./rtt-proxy-process.ts', import.meta.url), spec);
  const first = await proc.nextLine(30_000).catch(async (err: unknown) => {
    await proc.end(0);
    throw err;
  });
  if (first === undefined) throw new Error('rtt proxy exited before listening');
  const { ports } = JSON.parse(first) as { ports: [number, number] };
  let stopped = false;
  return {
    delayMs,
    redisUrl: viaPort(redisUrl, ports[0]),
    mysqlUrl: viaPort(mysqlUrl, ports[1]),
    pid: proc.child.pid,
    stop: async () => {
      if (stopped) return undefined;
      stopped = true;
      // Closing stdin makes it print its hold statistics and exit.
      const ended = proc.end();
      const line = await proc.nextLine(10_000).catch(() => undefined);
      await ended;
      if (!line) return undefined;
      const { stats } = JSON.parse(line) as { stats: [HoldStats, HoldStats] };
      return { redis: stats[0], mysql: stats[1] };
    },
  };
}
