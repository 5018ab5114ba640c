/**
 * A's outcomes, read back after the run: per buyer its decision latency (outcome `at` − its
 * XADD entry id ms, both the Redis clock) and status, exactly one outcome per event, the units
 * held; and the latency by second of sending.
 */
import type { Keys, Redis } from '@holdfast/shared';
import { readStream, type Fields } from '@holdfast/shared/inspect';
import { addUnits } from './redis-checks.js';
import { WARMUP_SKU, type Line } from './scenarios.js';
import { summarize } from './stats.js';

export class OutcomeTally {
  /** Decision latency of buyer i, ms; NaN without an outcome. */
  readonly latency: Float64Array;
  /** Units held per SKU by the accepted decisions (warm-up included). */
  readonly held = new Map<string, number>();
  readonly byReason: Record<string, number> = {};
  accepted = 0;
  rejected = 0;
  unitsTaken = 0;
  /** Outcomes of a buyer that already had one. */
  duplicates = 0;
  /** Outcomes of events the benchmark did not send. */
  foreign = 0;
  warmAccepted = 0;
  /** The last outcome's `at` (Redis clock ms). */
  lastAt = 0;
  private readonly seen: Uint8Array;

  constructor(
    private readonly carts: Line[][],
    private readonly xaddMs: Float64Array,
  ) {
    this.latency = new Float64Array(carts.length).fill(NaN);
    this.seen = new Uint8Array(carts.length);
  }

  add(f: Fields): void {
    const ev = f.event_id ?? '';
    const status = f.status ?? '';
    const at = Number(f.at ?? 0);
    if (/^w\d+$/.test(ev)) {
      if (status === 'reserved') this.warmAccepted += addUnits(this.held, [[WARMUP_SKU, 1]]);
      return;
    }
    const i = ev.startsWith('r') ? Number(ev.slice(1)) : NaN;
    if (!Number.isInteger(i) || i < 0 || i >= this.carts.length) {
      this.foreign++;
      return;
    }
    if (this.seen[i]) {
      this.duplicates++;
      return;
    }
    this.seen[i] = 1;
    this.latency[i] = at - this.xaddMs[i]!;
    this.lastAt = Math.max(this.lastAt, at);
    if (status === 'reserved') {
      this.accepted++;
      this.unitsTaken += addUnits(this.held, this.carts[i]!);
    } else {
      this.rejected++;
      const k = f.reason || status;
      this.byReason[k] = (this.byReason[k] ?? 0) + 1;
    }
  }

  /** Invariant violations of the outcomes themselves: one per event, none foreign. */
  violations(): string[] {
    const out: string[] = [];
    const missing = this.carts.length - this.accepted - this.rejected;
    if (missing) out.push(`${missing} events without an outcome`);
    if (this.duplicates) out.push(`${this.duplicates} events with more than one outcome`);
    if (this.foreign) out.push(`${this.foreign} outcomes for events the benchmark did not send`);
    return out;
  }
}

/** Every outcome of the run's namespace (every shard's stream), tallied against the buyers' carts and XADD times. */
export async function readOutcomes(
  redis: Redis,
  keys: Keys,
  carts: Line[][],
  xaddMs: Float64Array,
): Promise<OutcomeTally> {
  const tally = new OutcomeTally(carts, xaddMs);
  for (const stream of keys.outcomeStreams)
    for (const entry of await readStream(redis, stream)) tally.add(entry);
  return tally;
}

/** First and last XADD (Redis clock ms) of the load. */
export function sendSpan(xaddMs: Float64Array): { firstSend: number; lastSend: number } {
  let firstSend = Infinity;
  let lastSend = 0;
  for (const v of xaddMs) {
    if (v < firstSend) firstSend = v;
    if (v > lastSend) lastSend = v;
  }
  return { firstSend, lastSend };
}

/** Latency by second of sending (when in the run the slow decisions were sent). */
export function latencyTimeline(xaddMs: Float64Array, lat: Float64Array, firstSend: number) {
  const buckets = new Map<number, number[]>();
  for (let i = 0; i < xaddMs.length; i++) {
    if (Number.isNaN(lat[i]!)) continue;
    const s = Math.floor((xaddMs[i]! - firstSend) / 1000);
    let b = buckets.get(s);
    if (!b) buckets.set(s, (b = []));
    b.push(lat[i]!);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([second, v]) => {
      const x = summarize(v);
      return { second, sent: v.length, p50: x.p50, p99: x.p99, max: x.max };
    });
}
