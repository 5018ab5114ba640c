/**
 * The one Redis client factory. Every option is set for a reason (see comments).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { registerScripts } from './lua/index.js';

export interface RedisClientOptions {
  /** Name shown in CLIENT LIST (helps an SRE find whose connection is whose). */
  name: string;
  /** A connection used for blocking reads (XREADGROUP BLOCK) must not time commands out. */
  blocking?: boolean;
}

export function createRedis(url: string, opts: RedisClientOptions): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    // Commands issued while disconnected wait in the offline queue and are retried on
    // reconnect instead of failing a whole batch; a worker's batch then simply takes longer.
    enableOfflineQueue: true,
    // null = retry a command across reconnects forever (workers) — the caller's own deadlines
    // (shutdown, batch timeouts) bound the wait. The CLI passes its own options.
    maxRetriesPerRequest: null,
    // Reconnect with capped exponential backoff; never give up (a service outlives a Redis restart).
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    // Re-send a command that was in flight when the connection broke only for READONLY
    // (failover); other errors surface to the worker, which leaves the entries pending.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    // Keepalive so a half-open TCP connection (NAT, failover) is noticed.
    keepAlive: 10_000,
    // ioredis' auto-pipelining would merge our explicit pipelines; we batch deliberately.
    enableAutoPipelining: false,
    lazyConnect: false,
  };
  if (opts.blocking) options.commandTimeout = undefined;
  const client = new Redis(url, options);
  // Errors are reported by the reconnect loop and by each command; an 'error' listener
  // prevents ioredis from printing unhandled-error noise (which could include the URL).
  client.on('error', () => {});
  return registerScripts(client);
}

/** Parses 'ms-seq' stream ids. */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}
