/** What the decisions left behind in Redis: outcomes per event, ledger deltas per SKU. */
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { readStream, type Fields } from './streams.js';

/** Outcomes grouped by event_id (a correct fleet has exactly one per accepted event). */
export async function outcomesByEvent(redis: Redis, keys: Keys): Promise<Map<string, Fields[]>> {
  const m = new Map<string, Fields[]>();
  for (const stream of keys.outcomeStreams) {
    for (const o of await readStream(redis, stream)) {
      const list = m.get(o.event_id!) ?? [];
      list.push(o);
      m.set(o.event_id!, list);
    }
  }
  return m;
}

/** Sum of ledger deltas per SKU, and any change_id appended more than once. */
export async function ledgerSummary(redis: Redis, keys: Keys) {
  const perSku = new Map<string, [number, number, number, number]>();
  const seen = new Set<string>();
  const doubled: string[] = [];
  let entries = 0;
  for (const e of await readStream(redis, keys.shard().ledger)) {
    entries++;
    if (seen.has(e.change_id!)) doubled.push(e.change_id!);
    seen.add(e.change_id!);
    for (const [sku, dt, da, dh, ds] of JSON.parse(e.lines!) as Array<
      [string, number, number, number, number]
    >) {
      const s = perSku.get(sku) ?? [0, 0, 0, 0];
      perSku.set(sku, [s[0] + dt, s[1] + da, s[2] + dh, s[3] + ds]);
    }
  }
  return { perSku, doubled, entries };
}
