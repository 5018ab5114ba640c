/** Derived from the runs: ratios, CPU per decision, design targets, the FAILED verdict. */
import type { BenchSummary, RunResult, ScenarioReport, TargetResult } from './types.js';

/** The runs of one --rtt-ms value (runs without one were direct: 0). */
export function runsAt(runs: RunResult[], rttMs: number): RunResult[] {
  return runs.filter((r) => (r.rttMs ?? 0) === rttMs);
}

/** The first --rtt-ms value a scenario ran at (its `ratios` and the older targets use it). */
export function firstRtt(s: ScenarioReport): number {
  return s.network?.[0]?.rttMs ?? 0;
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? Math.round((a / b) * 100) / 100 : null;

export function ratios(runs: RunResult[]): ScenarioReport['ratios'] {
  const a = runs.find((r) => r.system === 'A' && r.variant === 'fleet' && !r.error);
  const bs = runs.filter((r) => r.system === 'B' && !r.error);
  const c = runs.find((r) => r.system === 'C' && !r.error);
  const bestB = bs.reduce<RunResult | undefined>(
    (m, r) => (!m || r.decisionsPerSec > m.decisionsPerSec ? r : m),
    undefined,
  );
  const cpu = (r: RunResult | undefined) => r?.perDecisionUs?.total ?? undefined;
  const cheapestB = bs.reduce<RunResult | undefined>(
    (m, r) => (cpu(r) !== undefined && (!m || cpu(r)! < cpu(m)!) ? r : m),
    undefined,
  );
  return {
    cpuUsPerDecision: Object.fromEntries(
      runs.filter((r) => !r.error).map((r) => [`${r.system}/${r.variant}`, cpu(r) ?? null]),
    ),
    cpuNormalizedAOverB: ratio(cpu(cheapestB), cpu(a)),
    cpuNormalizedAOverC: ratio(cpu(c), cpu(a)),
    aOverB: ratio(a?.decisionsPerSec, bestB?.decisionsPerSec),
    aOverBByVariant: Object.fromEntries(
      bs.map((b) => [b.variant, ratio(a?.decisionsPerSec, b.decisionsPerSec)]),
    ),
    aOverC: ratio(a?.decisionsPerSec, c?.decisionsPerSec),
  };
}

/** CPU µs per decision of each watched process, and Redis' EVALSHA µs per decision. */
export function perDecisionUs(r: RunResult): RunResult['perDecisionUs'] {
  if (!r.decisions) return undefined;
  const cpu: Record<string, number> = {};
  for (const p of r.processes) {
    if (p.cpuSeconds !== null) cpu[p.name] = Math.round((p.cpuSeconds / r.decisions) * 1e7) / 10;
  }
  const ev = r.redisCommands?.find((c) => c.command === 'evalsha');
  // The system's own processes: not another Redis instance, not the other system's server.
  const own = r.processes.filter(
    (p) =>
      !p.name.includes("not the benchmark's") &&
      !(r.system === 'B' && p.name.startsWith('redis-server')) &&
      !(r.system === 'C' && /^(mariadbd|mysqld)/.test(p.name)),
  );
  const secs = own.reduce((n, p) => n + (p.cpuSeconds ?? 0), 0);
  return {
    cpu,
    total: own.length ? Math.round((secs / r.decisions) * 1e7) / 10 : null,
    redisEvalsha: ev ? Math.round((ev.usec / r.decisions) * 10) / 10 : null,
  };
}

/** Why a run makes the whole benchmark FAILED (empty = it doesn't). */
export function runFailures(sc: number, r: RunResult): string[] {
  const name = `scenario ${sc} ${r.system}/${r.variant}`;
  const out: string[] = [];
  if (r.error) out.push(`${name}: run failed: ${r.error}`);
  if (r.oversells > 0) out.push(`${name}: ${r.oversells} SKUs oversold (${r.oversoldUnits} units)`);
  if (r.system === 'A' && !r.error && r.variance !== 0)
    out.push(`${name}: variance ${r.variance ?? 'unknown'} after drain`);
  if (r.violations.length)
    out.push(`${name}: ${r.violations.length} invariant violations, first: ${r.violations[0]}`);
  return out;
}

export function targets(scenarios: ScenarioReport[], summary?: BenchSummary): TargetResult[] {
  const out: TargetResult[] = [];
  for (const s of scenarios) {
    const runs = runsAt(s.runs, firstRtt(s));
    const a = runs.find((r) => r.system === 'A' && r.variant === 'fleet' && !r.error);
    const paced = runs.filter((r) => r.system === 'A' && r.variant !== 'fleet' && !r.error);
    if (s.id === 1 || s.id === 2) {
      const need = s.id === 1 ? 10 : 5;
      out.push({
        target: `A ≥ ${need} × B (faster B variant)`,
        scenario: s.id,
        value: s.ratios.aOverB,
        threshold: `≥ ${need}`,
        met: s.ratios.aOverB === null ? null : s.ratios.aOverB >= need,
      });
    }
    out.push({
      target: 'A ≥ 50 % of C',
      scenario: s.id,
      value: s.ratios.aOverC,
      threshold: '≥ 0.5',
      met: s.ratios.aOverC === null ? null : s.ratios.aOverC >= 0.5,
    });
    for (const lat of paced) {
      const p99 = lat.latencyMs.p99;
      out.push({
        target: `p99 decision latency at ${lat.variant.replace('fleet@', '')} of A's max rate`,
        scenario: s.id,
        value: p99,
        threshold: '≤ 25 ms',
        met: p99 === null ? null : p99 <= 25,
      });
    }
    if (a) {
      out.push({
        target: 'ledger drained after load stops (max-rate run)',
        scenario: s.id,
        value: a.drainMs ?? null,
        threshold: '≤ 2000 ms',
        met: a.drainMs === null || a.drainMs === undefined ? false : a.drainMs <= 2000,
      });
    }
    const svc = runs
      .filter((r) => r.system === 'A' && !r.error)
      .flatMap((r) => r.processes.filter((p) => p.kind === 'service'));
    if (svc.length) {
      const worst = svc.reduce((m, p) => ((p.peakRssMb ?? 0) > (m.peakRssMb ?? 0) ? p : m));
      out.push({
        target: `every service's peak RSS (worst: ${worst.name})`,
        scenario: s.id,
        value: worst.peakRssMb,
        threshold: '≤ 150 MB',
        met: worst.peakRssMb === null ? null : worst.peakRssMb <= 150,
      });
    }
    out.push(...productionTargets(s.id, summary));
  }
  return out;
}

/** Issue 12's goals, at r = 1 ms when that round trip was measured. */
function productionTargets(id: number, summary: BenchSummary | undefined): TargetResult[] {
  const at1 = summary?.scenarios[String(id)]?.rtt['1'];
  if (!at1) return [];
  const out: TargetResult[] = [];
  if (id === 1 || id === 2) {
    const need = id === 1 ? 20 : 2;
    out.push({
      target: `A ≥ ${need} × B at r = 1 ms`,
      scenario: id,
      value: at1.ratioAB,
      threshold: `≥ ${need}`,
      met: at1.ratioAB === null ? null : at1.ratioAB >= need,
    });
  }
  const p99 = at1.p99Ms.A;
  out.push({
    target: `A's p99 at r = 1 ms (${at1.aRun ?? 'no paced run'})`,
    scenario: id,
    value: p99,
    threshold: '< 50 ms',
    met: p99 === null || !at1.aRun ? null : p99 < 50,
  });
  return out;
}
