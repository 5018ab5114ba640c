/** Ratios, design targets, FAILED verdict and the markdown rendering of a report. */
import type { BenchReport, RunResult, ScenarioReport, TargetResult } from './types.js';

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

export function targets(scenarios: ScenarioReport[]): TargetResult[] {
  const out: TargetResult[] = [];
  for (const s of scenarios) {
    const a = s.runs.find((r) => r.system === 'A' && r.variant === 'fleet' && !r.error);
    const paced = s.runs.filter((r) => r.system === 'A' && r.variant !== 'fleet' && !r.error);
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
    const svc = s.runs
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
  }
  return out;
}

const fmt = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined
    ? '–'
    : Number.isInteger(v)
      ? v.toLocaleString('en-US')
      : v.toFixed(digits);
const int = (v: number | null | undefined) =>
  v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US');

export function renderMarkdown(r: BenchReport): string {
  const m = r.machine as {
    cpus?: number;
    cpuModel?: string;
    node?: string;
    redisVersion?: string;
    mysqlVersion?: string;
    mysql?: Record<string, string>;
    totalMemMb?: number;
  };
  const load = r.load as {
    load1?: { min: number; mean: number; max: number };
    atStart?: { load1: number };
    atEnd?: { load1: number };
  };
  const lines: string[] = [];
  lines.push(`# holdfast benchmark — ${r.startedAt}`, '');
  lines.push(
    `**Status: ${r.status}**${r.failures.length ? '' : ' (no oversell, variance 0 everywhere)'}`,
    '',
  );
  for (const f of r.failures) lines.push(`- FAILED: ${f}`);
  if (r.failures.length) lines.push('');
  lines.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${fmt(m.totalMemMb)} MB RAM, Node ${m.node}, Redis ${m.redisVersion}, ` +
      `MariaDB/MySQL ${m.mysqlVersion} (innodb_flush_log_at_trx_commit=${m.mysql?.innodb_flush_log_at_trx_commit ?? '?'}). ` +
      `Everything (services, producers, Redis, MySQL) on this one machine.`,
  );
  lines.push(
    `Load average (1 min) during the run: min ${fmt(load.load1?.min, 2)}, mean ${fmt(load.load1?.mean, 2)}, ` +
      `max ${fmt(load.load1?.max, 2)} on ${m.cpus} cores (start ${fmt(load.atStart?.load1, 2)}, end ${fmt(load.atEnd?.load1, 2)}); ` +
      `the machine is shared, figures move with it.`,
  );
  const git = (r.machine as { git?: { commit: string; modifiedFiles: number } | null }).git;
  lines.push(
    `Command: \`${r.command}\` — ${Math.round(r.durationS)} s` +
      (git
        ? `, at commit ${git.commit}${git.modifiedFiles ? ` + ${git.modifiedFiles} modified files` : ''}.`
        : '.'),
    '',
  );

  lines.push('## Summary', '');
  lines.push(
    '| scenario | A decisions/s | best B decisions/s | A/B | C decisions/s | A/C | A p99 at max | A p99 at 80 % |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of r.scenarios) {
    const a = s.runs.find((x) => x.system === 'A' && x.variant === 'fleet');
    const al = s.runs.find((x) => x.variant === 'fleet@80%');
    const bs = s.runs.filter((x) => x.system === 'B' && !x.error);
    const b = bs.reduce<RunResult | undefined>(
      (mx, x) => (!mx || x.decisionsPerSec > mx.decisionsPerSec ? x : mx),
      undefined,
    );
    const c = s.runs.find((x) => x.system === 'C');
    lines.push(
      `| ${s.id} ${s.name} | ${int(a?.decisionsPerSec)} | ${int(b?.decisionsPerSec)}${b ? ` (${b.variant})` : ''} | ` +
        `${s.ratios.aOverB === null ? '–' : `${fmt(s.ratios.aOverB, 2)} ×`} | ${int(c?.decisionsPerSec)} | ` +
        `${s.ratios.aOverC === null ? '–' : `${fmt(s.ratios.aOverC * 100, 0)} %`} | ${fmt(a?.latencyMs.p99)} ms | ` +
        `${al ? `${fmt(al.latencyMs.p99)} ms` : '–'} |`,
    );
  }
  lines.push('');

  lines.push(
    'CPU cost per decision — the load-independent view (CPU seconds of all of a system’s processes in the window ÷ decisions; ' +
      'A: four services + Redis + MySQL + producers, B: MySQL + its client, C: Redis + its client; shared servers include other users’ work):',
    '',
  );
  lines.push('| scenario | A µs | cheapest B µs | C µs | B/A (A’s CPU advantage over B) | C/A |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const s of r.scenarios) {
    const cpu = s.ratios.cpuUsPerDecision ?? {};
    const bVals = Object.entries(cpu).filter(([k, v]) => k.startsWith('B/') && v !== null);
    const bMin = bVals.length ? Math.min(...bVals.map(([, v]) => v!)) : null;
    lines.push(
      `| ${s.id} ${s.name} | ${fmt(cpu['A/fleet'])} | ${fmt(bMin)} | ${fmt(cpu['C/lua-pipeline'])} | ` +
        `${s.ratios.cpuNormalizedAOverB === null || s.ratios.cpuNormalizedAOverB === undefined ? '–' : `${fmt(s.ratios.cpuNormalizedAOverB, 2)} ×`} | ` +
        `${s.ratios.cpuNormalizedAOverC === null || s.ratios.cpuNormalizedAOverC === undefined ? '–' : `${fmt(s.ratios.cpuNormalizedAOverC * 100, 0)} %`} |`,
    );
  }
  lines.push('');

  for (const s of r.scenarios) {
    lines.push(`## Scenario ${s.id} — ${s.name}`, '', s.description, '');
    lines.push(
      '| system | variant | decisions/s | p50 ms | p99 ms | p999 ms | accepted | rejected | oversells | variance | ledger drain ms | load 1m start→end | other processes’ CPU % |',
    );
    lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|');
    for (const x of s.runs) {
      if (x.error) {
        lines.push(
          `| ${x.system} | ${x.variant} | FAILED: ${x.error.replace(/\|/g, '/').slice(0, 200)} ||||||||||||`,
        );
        continue;
      }
      lines.push(
        `| ${x.system} | ${x.variant}${x.truncated ? ' (truncated)' : ''} | ${int(x.decisionsPerSec)} | ${fmt(x.latencyMs.p50)} | ` +
          `${fmt(x.latencyMs.p99)} | ${fmt(x.latencyMs.p999)} | ${int(x.accepted)} | ${int(x.rejected)} | ` +
          `${x.oversells}${x.violations.length ? ` (${x.violations.length} violations)` : ''} | ` +
          `${x.system === 'A' ? fmt(x.variance) : '–'} | ${x.system === 'A' ? int(x.drainMs) : '–'} | ` +
          `${x.loadavgStart[0].toFixed(2)} → ${x.loadavgEnd[0].toFixed(2)} | ${fmt(x.machineCpu?.othersPercent)} |`,
      );
    }
    lines.push('');
    const c = s.runs.find((x) => x.system === 'C' && !x.error);
    if (c?.extraLatencyMs?.perPipelineDividedBySize) {
      const e = c.extraLatencyMs.perPipelineDividedBySize;
      lines.push(
        `C per-pipeline time ÷ pipeline size: p50 ${fmt(e.p50, 3)} ms, p99 ${fmt(e.p99, 3)} ms.`,
        '',
      );
    }
    for (const al of s.runs.filter((x) => x.system === 'A' && x.variant !== 'fleet' && !x.error)) {
      lines.push(
        `Latency run ${al.variant}: producers paced to ${int(al.targetRatePerSec)}/s, achieved ${int(al.decisionsPerSec)} decisions/s; ` +
          `p50 ${fmt(al.latencyMs.p50)} ms, p99 ${fmt(al.latencyMs.p99)} ms, p999 ${fmt(al.latencyMs.p999)} ms` +
          (al.producerLatenessMs
            ? `; producers behind their schedule p50 ${fmt(al.producerLatenessMs.p50)} ms, p99 ${fmt(al.producerLatenessMs.p99)} ms, max ${fmt(al.producerLatenessMs.max)} ms.`
            : '.'),
        '',
      );
    }
    for (const x of s.runs.filter((y) => !y.error)) {
      lines.push(
        `Processes, ${x.system}/${x.variant} (CPU % of one core over the measurement window incl. drain; RSS when the window opened and its peak — services: max of VmHWM and sampled VmRSS):`,
        '',
      );
      lines.push(
        '| process | CPU % | CPU µs per decision | RSS at start MB | peak RSS MB | V8 heap total / used MB at end |',
        '|---|---:|---:|---:|---:|---:|',
      );
      for (const p of x.processes) {
        lines.push(
          `| ${p.name}${p.kind === 'server' ? ' (shared server)' : ''} | ${fmt(p.cpuPercent)} | ` +
            `${fmt(x.perDecisionUs?.cpu[p.name])} | ${fmt(p.rssAtStartMb)} | ${fmt(p.peakRssMb)} | ` +
            `${x.serviceMemoryMb?.[p.name] ? `${fmt(x.serviceMemoryMb[p.name]!.heapTotal)} / ${fmt(x.serviceMemoryMb[p.name]!.heapUsed)}` : ''} |`,
        );
      }
      if (x.machineCpu && x.machineCpu.busyPercent !== null) {
        lines.push(
          `| (all other processes on the machine) | ${fmt(x.machineCpu.othersPercent)} | | | | |`,
        );
        lines.push(
          `| (whole machine busy, of which steal ${fmt(x.machineCpu.stealPercent)}) | ${fmt(x.machineCpu.busyPercent)} | | | | |`,
        );
      }
      lines.push('');
    }
    for (const x of s.runs.filter((y) => !y.error && (y.variant === 'fleet' || y.system === 'C'))) {
      if (!x.redisCommands?.length) continue;
      lines.push(
        `Redis time by command during ${x.system}/${x.variant} (INFO commandstats diff of the whole, shared server; ` +
          `commands run inside scripts are counted in EVALSHA and again on their own line; ` +
          `EVALSHA µs per decision: ${fmt(x.perDecisionUs?.redisEvalsha)}):`,
        '',
      );
      lines.push('| command | calls | µs/call | share |', '|---|---:|---:|---:|');
      for (const c2 of x.redisCommands.slice(0, 8)) {
        lines.push(
          `| ${c2.command} | ${int(c2.calls)} | ${fmt(c2.usecPerCall)} | ${fmt(c2.share * 100)} % |`,
        );
      }
      lines.push('');
    }
  }

  lines.push('## Design targets (reported, not asserted)', '');
  lines.push('| target | scenario | value | threshold | met |', '|---|---:|---:|---|---|');
  for (const t of r.targets) {
    lines.push(
      `| ${t.target} | ${t.scenario ?? '–'} | ${fmt(t.value, 2)} | ${t.threshold} | ${t.met === null ? 'n/a' : t.met ? 'met' : '**missed**'} |`,
    );
  }
  lines.push('');
  lines.push(
    'Definitions: see docs/benchmarks.md. A latency = outcome `at` − checkout:events entry id ms (Redis clock); ' +
      'B latency = one transaction’s wall time; C latency = the wall time of the pipeline a decision rode in.',
    '',
  );
  return lines.join('\n');
}
