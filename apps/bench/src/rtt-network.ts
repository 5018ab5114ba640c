/**
 * --rtt-ms: the network of production put between every client and the servers. For one r,
 * one proxy process (./rtt-proxy-process.ts) holds a delaying proxy in front of Redis and one in
 * front of MySQL; the run's Redis and MySQL URLs are rewritten to point at them, so A's
 * services, B's pool, C's connections and the collateral traffic all pay the same r per round
 * trip. r = 0 runs without a proxy (the direct figures of before).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '@holdfast/shared';
import type { HoldStats } from './rtt-proxy.js';

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
  const entry = fileURLToPath(new URL('./rtt-proxy-process.ts', import.meta.url));
  const spec = { delayMs, targets: [hostPort(redisUrl), hostPort(mysqlUrl)] };
  // tsx from the repository root (a root devDependency), as the CLI runs the benchmark.
  const child = spawn(process.execPath, ['--import', 'tsx', entry, JSON.stringify(spec)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await Promise.race([
    lines.next(),
    new Promise<never>((_, reject) => {
      child.once('exit', (code) =>
        reject(new Error(`rtt proxy exited (${code}) before listening`)),
      );
      setTimeout(() => reject(new Error('rtt proxy did not listen within 30 s')), 30_000).unref();
    }),
  ]).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const { ports } = JSON.parse(String(first.value)) as { ports: [number, number] };
  return {
    delayMs,
    redisUrl: viaPort(redisUrl, ports[0]),
    mysqlUrl: viaPort(mysqlUrl, ports[1]),
    pid: child.pid,
    stop: () => stopProxy(child, lines),
  };
}

async function stopProxy(
  child: ChildProcess,
  lines: AsyncIterator<string>,
): Promise<{ redis: HoldStats; mysql: HoldStats } | undefined> {
  if (child.exitCode !== null) return undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
  const line = await Promise.race([lines.next(), exited.then(() => undefined)]);
  await exited;
  clearTimeout(kill);
  if (!line || line.done) return undefined;
  const { stats } = JSON.parse(String(line.value)) as { stats: [HoldStats, HoldStats] };
  return { redis: stats[0], mysql: stats[1] };
}
