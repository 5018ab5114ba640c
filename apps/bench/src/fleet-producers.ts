/**
 * A's producers: the buyers' reserves XADDed to checkout:events from several pipelined
 * connections — the untimed warm-up, then the measured load, as fast as they can send or
 * paced to a rate. Each buyer's XADD entry id (Redis clock) is kept: decision latency is
 * measured from it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis, streamIdMs, type Redis, type RedisTarget } from '@holdfast/shared';
import { WARMUP_SKU, type Scenario } from './scenarios.js';

/** The producers' field lists, built before the clock starts. */
export function producerFields(sc: Scenario): string[][] {
  return sc.carts.map((lines, i) => {
    const f = ['type', 'reserve', 'event_id', `r${i}`, 'checkout_id', `c${i}`, 'user_id', `u${i}`];
    if (lines.length === 1) f.push('sku', lines[0]![0], 'qty', String(lines[0]![1]));
    else f.push('lines', JSON.stringify(lines.map(([sku, qty]) => ({ sku, qty }))));
    return f;
  });
}

/** Opens `n` producer connections into `into` (so the caller disconnects them even on failure). */
export async function connectProducers(
  redis: string | RedisTarget,
  n: number,
  into: Redis[],
): Promise<void> {
  for (let i = 0; i < n; i++) into.push(createRedis(redis, { name: `bench-producer-${i}` }));
  await Promise.all(into.map((p) => p.ping()));
}

/** The warm-up: `w` one-unit reserves of WARMUP_SKU, `chunk` per pipeline, round robin. */
export async function sendWarmUp(
  producers: Redis[],
  stream: string,
  w: number,
  chunk: number,
): Promise<void> {
  for (let from = 0, k = 0; from < w; from += chunk, k++) {
    const p = producers[k % producers.length]!.pipeline();
    for (let i = from; i < Math.min(w, from + chunk); i++) {
      p.xadd(
        stream,
        '*',
        'type',
        'reserve',
        'event_id',
        `w${i}`,
        'checkout_id',
        `wc${i}`,
        'user_id',
        `wu${i}`,
        'sku',
        WARMUP_SKU,
        'qty',
        '1',
      );
    }
    await p.exec();
  }
}

export interface Load {
  /** Redis-clock ms of each buyer's XADD (its entry id); NaN until sent. */
  xaddMs: Float64Array;
  /** XADDs per pipeline. */
  chunk: number;
  /** performance.now() when sending started. */
  t0: number;
  /** Settles when every buyer was sent or a producer failed (then `error` is set). */
  done: Promise<void>;
  error?: unknown;
}

/**
 * Starts the load: each producer takes the next chunk, XADDs it in one pipeline and waits for
 * the replies. Paced (`ratePerSec`), a chunk is sent when its first buyer is due, and chunks
 * are smaller (about 200 pipelines per second).
 */
export function startLoad(
  producers: Redis[],
  stream: string,
  fields: string[][],
  maxChunk: number,
  ratePerSec: number | undefined,
): Load {
  const n = fields.length;
  const chunk =
    ratePerSec !== undefined
      ? Math.max(1, Math.min(maxChunk, Math.round(ratePerSec / 200)))
      : maxChunk;
  const load: Load = {
    xaddMs: new Float64Array(n).fill(NaN),
    chunk,
    t0: 0,
    done: Promise.resolve(),
  };
  let next = 0;
  load.t0 = performance.now();
  load.done = Promise.all(
    producers.map(async (r) => {
      while (next < n) {
        const from = next;
        const to = Math.min(n, from + chunk);
        next = to;
        if (ratePerSec !== undefined) {
          const wait = load.t0 + (from / ratePerSec) * 1000 - performance.now();
          if (wait > 0) await sleep(wait);
        }
        const p = r.pipeline();
        for (let i = from; i < to; i++) p.xadd(stream, '*', ...fields[i]!);
        const res = (await p.exec()) ?? [];
        for (let i = from; i < to; i++) {
          const [err, id] = res[i - from] ?? [new Error('no reply')];
          if (err) throw err;
          load.xaddMs[i] = streamIdMs(id as string);
        }
      }
    }),
  ).then(
    () => undefined,
    (err: unknown) => {
      load.error = err;
    },
  );
  return load;
}
