/**
 * A flash-sale crowd: buyers XADD reserves from several producer connections; a follow-up loop
 * reads checkout:outcomes and, for each reserved hold, confirms (confirmRate), cancels
 * (cancelRate) or abandons it (it then expires). Used by end-to-end tests, the chaos suite,
 * the demo and the benchmark.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createRedis, toFields, type Keys } from '@holdfast/shared';

export interface CrowdOptions {
  redisUrl: string;
  keys: Keys;
  checkouts: number;
  /** Lines of checkout i (default: one unit of one SKU). */
  cart: (i: number) => Array<{ sku: string; qty: number }>;
  users?: number;
  confirmRate?: number;
  cancelRate?: number;
  producers?: number;
  /** Reserves per second across producers (0 = as fast as possible). */
  ratePerSec?: number;
  holdSeconds?: number;
  idPrefix?: string;
  chunk?: number;
  /** Called after each chunk of reserves was sent. */
  onSent?: (n: number) => void;
  /** Stop early (the demo's Ctrl-C). */
  signal?: AbortSignal;
}

export interface CrowdResult {
  sent: number;
  followUps: number;
  outcomes: number;
  byStatus: Record<string, number>;
  confirmed: number;
  cancelled: number;
  abandoned: number;
  /** ms from the first XADD to the last outcome of the crowd's events. */
  elapsedMs: number;
}

type Decision = 'confirm' | 'cancel' | 'abandon';

export function followUpOf(i: number, confirmRate: number, cancelRate: number): Decision {
  // A fixed spread over i (not random) so repeated runs make the same choices.
  const u = ((i * 2654435761) % 1000) / 1000;
  return u < confirmRate ? 'confirm' : u < confirmRate + cancelRate ? 'cancel' : 'abandon';
}

export async function runCrowd(o: CrowdOptions): Promise<CrowdResult> {
  const prefix = o.idPrefix ?? 'b';
  const confirmRate = o.confirmRate ?? 0.6;
  const cancelRate = o.cancelRate ?? 0.2;
  const users = o.users ?? o.checkouts;
  const nProducers = o.producers ?? 4;
  const chunk = o.chunk ?? 500;
  const outcomesStream = o.keys.streams.outcomes;
  const producers: Redis[] = Array.from({ length: nProducers }, (_, i) =>
    createRedis(o.redisUrl, { name: `crowd-producer-${i}` }),
  );
  const reader = createRedis(o.redisUrl, { name: 'crowd-follow-up', blocking: true });
  const last = (await reader.xrevrange(outcomesStream, '+', '-', 'COUNT', 1)) as Array<
    [string, string[]]
  >;
  let cursor = last[0]?.[0] ?? '0-0';

  const t0 = Date.now();
  let sent = 0;
  let followUps = 0;
  let expectedFollowUps = 0;
  let decidedReserves = 0;
  let decidedFollowUps = 0;
  const byStatus: Record<string, number> = {};
  let confirmed = 0;
  let cancelled = 0;
  let abandoned = 0;
  let lastOutcomeAt = t0;
  const reservePrefix = `${prefix}r`;
  const followPrefix = `${prefix}f`;

  const sendAll = async () => {
    let next = 0;
    await Promise.all(
      producers.map(async (r) => {
        while (next < o.checkouts && !o.signal?.aborted) {
          const from = next;
          const to = Math.min(o.checkouts, from + chunk);
          next = to;
          if (o.ratePerSec) {
            const due = t0 + (from / o.ratePerSec) * 1000;
            const wait = due - Date.now();
            if (wait > 0) await sleep(wait);
          }
          const p = r.pipeline();
          for (let i = from; i < to; i++) {
            const fields = [
              'type',
              'reserve',
              'event_id',
              `${reservePrefix}${i}`,
              'checkout_id',
              `${prefix}c${i}`,
              'user_id',
              `${prefix}u${i % users}`,
              'lines',
              JSON.stringify(o.cart(i)),
            ];
            if (o.holdSeconds) fields.push('hold_seconds', String(o.holdSeconds));
            p.xadd(o.keys.streams.events, '*', ...fields);
          }
          await p.exec();
          sent += to - from;
          o.onSent?.(sent);
        }
      }),
    );
  };

  const follow = async () => {
    const out = producers[0]!;
    while (!o.signal?.aborted) {
      if (sent >= o.checkouts && decidedReserves >= sent && decidedFollowUps >= expectedFollowUps)
        break;
      const res = (await reader.xread(
        'COUNT',
        2000,
        'BLOCK',
        500,
        'STREAMS',
        outcomesStream,
        cursor,
      )) as Array<[string, Array<[string, string[]]>]> | null;
      if (!res) continue;
      const p = out.pipeline();
      let queued = 0;
      for (const [id, flat] of res[0]![1]) {
        cursor = id;
        const f = toFields(flat);
        const ev = f.event_id ?? '';
        if (ev.startsWith(reservePrefix)) {
          decidedReserves++;
          lastOutcomeAt = Date.now();
          const k = f.reason ?? f.status!;
          byStatus[k] = (byStatus[k] ?? 0) + 1;
          if (f.status !== 'reserved') continue;
          const i = Number(ev.slice(reservePrefix.length));
          const d = followUpOf(i, confirmRate, cancelRate);
          if (d === 'abandon') {
            abandoned++;
            continue;
          }
          expectedFollowUps++;
          p.xadd(
            o.keys.streams.events,
            '*',
            'type',
            d,
            'event_id',
            `${followPrefix}${i}`,
            'checkout_id',
            f.checkout_id!,
          );
          queued++;
        } else if (ev.startsWith(followPrefix)) {
          decidedFollowUps++;
          lastOutcomeAt = Date.now();
          if (f.status === 'confirmed') confirmed++;
          else if (f.status === 'cancelled') cancelled++;
          else
            byStatus[`followup_${f.reason ?? f.status}`] =
              (byStatus[`followup_${f.reason ?? f.status}`] ?? 0) + 1;
        }
      }
      if (queued) {
        await p.exec();
        followUps += queued;
      }
    }
  };

  try {
    await Promise.all([sendAll(), follow()]);
  } finally {
    for (const r of producers) r.disconnect();
    reader.disconnect();
  }
  return {
    sent,
    followUps,
    outcomes: decidedReserves + decidedFollowUps,
    byStatus,
    confirmed,
    cancelled,
    abandoned,
    elapsedMs: lastOutcomeAt - t0,
  };
}
