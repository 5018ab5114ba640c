/**
 * report.json's `summary`: per scenario, CPU per decision of each system and, per --rtt-ms
 * value, what production would see — A ÷ B and A ÷ C, the p99 of A and B, and the p99 of the
 * shop's other MySQL traffic while each ran (./collateral.ts).
 */
import { firstRtt, ratios, runsAt } from './report.js';
import type {
  BenchSummary,
  RttSummary,
  RunResult,
  ScenarioReport,
  ScenarioSummary,
} from './types.js';

const ok = (runs: RunResult[]) => runs.filter((r) => !r.error);
const cpu = (r: RunResult | undefined) => r?.perDecisionUs?.total ?? null;

/** The faster B variant (the one A ÷ B divides by). */
function fastestB(runs: RunResult[]): RunResult | undefined {
  return ok(runs)
    .filter((r) => r.system === 'B')
    .reduce<RunResult | undefined>(
      (m, r) => (!m || r.decisionsPerSec > m.decisionsPerSec ? r : m),
      undefined,
    );
}

/** CPU µs per decision: A's max-rate run, the cheapest B variant, C. */
function cpuOf(runs: RunResult[]): ScenarioSummary['cpuPerDecisionUs'] {
  const good = ok(runs);
  const bs = good
    .filter((r) => r.system === 'B')
    .map(cpu)
    .filter((v): v is number => v !== null);
  return {
    A: cpu(good.find((r) => r.system === 'A' && r.variant === 'fleet')),
    B: bs.length ? Math.min(...bs) : null,
    C: cpu(good.find((r) => r.system === 'C')),
  };
}

function rttSummary(s: ScenarioReport, rttMs: number): RttSummary {
  const runs = runsAt(s.runs, rttMs);
  const good = ok(runs);
  const aMax = good.find((r) => r.system === 'A' && r.variant === 'fleet');
  // The first paced run (--latency-fraction, 0.8 by default): the max run's p99 is its backlog.
  const aPaced = good.find((r) => r.system === 'A' && r.variant.startsWith('fleet@'));
  const b = fastestB(runs);
  const c = good.find((r) => r.system === 'C');
  const rt = ratios(runs);
  const hold = s.network?.find((n) => n.rttMs === rttMs)?.hold;
  const holdOf = hold ? [hold.redis, hold.mysql].filter((h) => h.chunks > 0) : [];
  return {
    ratioAB: rt.aOverB,
    ratioAC: rt.aOverC,
    p99Ms: { A: aPaced?.latencyMs.p99 ?? null, B: b?.latencyMs.p99 ?? null },
    collateralP99Ms: {
      A: aMax?.collateral?.all.p99 ?? null,
      B: b?.collateral?.all.p99 ?? null,
    },
    collateralP50Ms: {
      A: aMax?.collateral?.all.p50 ?? null,
      B: b?.collateral?.all.p50 ?? null,
    },
    decisionsPerSec: {
      A: aMax?.decisionsPerSec ?? null,
      B: b?.decisionsPerSec ?? null,
      C: c?.decisionsPerSec ?? null,
    },
    cpuPerDecisionUs: cpuOf(runs),
    aRun: aPaced?.variant ?? null,
    bRun: b?.variant ?? null,
    // The larger of the two proxies' (Redis, MySQL) holds; one pair served every system at r.
    proxyHoldMs: holdOf.length
      ? {
          p50: Math.max(...holdOf.map((h) => h.holdMs.p50 ?? 0)),
          p99: Math.max(...holdOf.map((h) => h.holdMs.p99 ?? 0)),
        }
      : null,
  };
}

export function benchSummary(rttMs: number[], scenarios: ScenarioReport[]): BenchSummary {
  const out: BenchSummary = { rttMs, scenarios: {} };
  for (const s of scenarios) {
    const measured = s.network?.map((n) => n.rttMs) ?? [0];
    out.scenarios[String(s.id)] = {
      cpuPerDecisionUs: cpuOf(runsAt(s.runs, firstRtt(s))),
      rtt: Object.fromEntries(measured.map((r) => [String(r), rttSummary(s, r)])),
    };
  }
  return out;
}
