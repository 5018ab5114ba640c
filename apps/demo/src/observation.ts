/**
 * Everything a run observed, as plain data: what the demo armed and sent, what its taps and
 * sampler saw, and the end state. The checks (./check) and the report (./render) read only this.
 */
import type { CrowdResult } from '@holdfast/crowd';
import type { SampledRow } from './check/stock-rules.js';
import type { EndState } from './check/end-state.js';
import type { Demand } from './crowd/carts.js';
import type { OutcomeLog } from './observe/outcome-tap.js';
import type { AuditRun, Sample } from './observe/sampler.js';
import type { DemoOptions } from './options.js';

export interface Observation extends EndState {
  options: DemoOptions;
  /** Units armed per SKU. */
  armed: Map<string, number>;
  /** Every admin entry the demo sent, by kind. */
  adminByKind: Record<string, number>;
  /** What the crowd asks for, per SKU. */
  demand: Map<string, Demand>;
  /** SKU → shard (every SKU on the one shard when there is one). */
  placement: ReadonlyMap<string, string>;
  crowd: CrowdResult;
  users: number;
  crowdStartedAt: number;
  sendDoneAt: number;
  /** The outcome tap: every decision. */
  outcomes: OutcomeLog;
  /** The event tap: event_id → XADD time (ms, Redis' clock). */
  xaddMs: ReadonlyMap<string, number>;
  /** checkout:events entries the event tap saw. */
  eventsSeen: number;
  /** The sampler: the series (from samplerT0, every sampleIntervalMs) and what it found. */
  samples: Sample[];
  samplerT0: number;
  sampleIntervalMs: number;
  stockSamples: number;
  sampledBreaches: SampledRow[];
  hotSoldOutAt: number | null;
  audit: AuditRun[];
  /** The reserver's sweep interval (the holds check's bound). */
  sweepIntervalMs: number;
}
