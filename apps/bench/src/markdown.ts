/** report.md: the report as markdown — summary, CPU per decision, per-scenario tables, targets. */
import type {
  BenchReport,
  BenchSummary,
  RunResult,
  ScenarioReport,
  ShardComparison,
} from './types.js';

const fmt = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined
    ? '–'
    : Number.isInteger(v)
      ? v.toLocaleString('en-US')
      : v.toFixed(digits);
const int = (v: number | null | undefined) =>
  v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US');

export function renderMarkdown(r: BenchReport): string {
  const lines = [
    ...header(r),
    // --shards only: no scenario ran, so no scenario tables.
    ...(r.scenarios.length
      ? [
          ...summaryTable(r.scenarios),
          ...cpuTable(r.scenarios),
          ...rttTable(r.summary),
          ...r.scenarios.flatMap(scenarioSection),
          ...targetsTable(r),
        ]
      : []),
    ...shardSection(r.shards),
    'Definitions: see docs/benchmarks.md. A latency = outcome `at` − checkout:events entry id ms (Redis clock); ' +
      'B latency = one transaction’s wall time; C latency = the wall time of the pipeline a decision rode in.',
    '',
  ];
  return lines.join('\n');
}

/** Title, verdict and failures, the machine, its load, the command and the commit. */
function header(r: BenchReport): string[] {
  const m = r.machine as {
    cpus?: number;
    cpuModel?: string;
    node?: string;
    redisVersion?: string;
    mysqlVersion?: string;
    mysql?: Record<string, string>;
    totalMemMb?: number;
    git?: { commit: string; modifiedFiles: number } | null;
  };
  const load = r.load as {
    load1?: { min: number; mean: number; max: number };
    atStart?: { load1: number };
    atEnd?: { load1: number };
  };
  const lines = [`# holdfast benchmark — ${r.startedAt}`, ''];
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
  const git = m.git;
  lines.push(
    `Command: \`${r.command}\` — ${Math.round(r.durationS)} s` +
      (git
        ? `, at commit ${git.commit}${git.modifiedFiles ? ` + ${git.modifiedFiles} modified files` : ''}.`
        : '.'),
    '',
  );
  return lines;
}

function summaryTable(scenarios: ScenarioReport[]): string[] {
  const lines = [
    '## Summary',
    '',
    '| scenario | A decisions/s | best B decisions/s | A/B | C decisions/s | A/C | A p99 at max | A p99 at 80 % |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of scenarios) {
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
  return lines;
}

function cpuTable(scenarios: ScenarioReport[]): string[] {
  const lines = [
    'CPU cost per decision — the load-independent view (CPU seconds of all of a system’s processes in the window ÷ decisions; ' +
      'A: four services + Redis + MySQL + producers, B: MySQL + its client, C: Redis + its client; shared servers include other users’ work):',
    '',
    '| scenario | A µs | cheapest B µs | C µs | B/A (A’s CPU advantage over B) | C/A |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const s of scenarios) {
    const cpu = s.ratios.cpuUsPerDecision ?? {};
    const bVals = Object.entries(cpu).filter(([k, v]) => k.startsWith('B/') && v !== null);
    const bMin = bVals.length ? Math.min(...bVals.map(([, v]) => v!)) : null;
    const overB = s.ratios.cpuNormalizedAOverB;
    const overC = s.ratios.cpuNormalizedAOverC;
    lines.push(
      `| ${s.id} ${s.name} | ${fmt(cpu['A/fleet'])} | ${fmt(bMin)} | ${fmt(cpu['C/lua-pipeline'])} | ` +
        `${overB === null || overB === undefined ? '–' : `${fmt(overB, 2)} ×`} | ` +
        `${overC === null || overC === undefined ? '–' : `${fmt(overC * 100, 0)} %`} |`,
    );
  }
  lines.push('');
  return lines;
}

/** Per scenario and --rtt-ms: what production would see (report.json `summary`). */
function rttTable(summary: BenchSummary | undefined): string[] {
  if (!summary) return [];
  const lines = [
    'By network round trip r (--rtt-ms; every Redis and MySQL connection of every system through a proxy that holds each request r ms; ' +
      'A p99 = its paced run, B = the faster variant; collateral = the shop’s other MySQL traffic — hot-row reads and unrelated order inserts — during A’s max-rate run and during B):',
    '',
    '| scenario | r ms | proxy hold p50 / p99 ms | A decisions/s | B decisions/s | C decisions/s | A/B | A/C | A p99 ms | B p99 ms | collateral p50 / p99 ms during A | during B |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [id, sc] of Object.entries(summary.scenarios)) {
    for (const [r, x] of Object.entries(sc.rtt)) {
      const times = (v: number | null) => (v === null ? '–' : `${fmt(v, 2)} ×`);
      lines.push(
        `| ${id} | ${r} | ${x.proxyHoldMs ? `${fmt(x.proxyHoldMs.p50, 2)} / ${fmt(x.proxyHoldMs.p99, 2)}` : 'direct'} | ` +
          `${int(x.decisionsPerSec.A)} | ${int(x.decisionsPerSec.B)} | ${int(x.decisionsPerSec.C)} | ` +
          `${times(x.ratioAB)} | ${times(x.ratioAC)} | ${fmt(x.p99Ms.A)} | ${fmt(x.p99Ms.B)} | ` +
          `${fmt(x.collateralP50Ms.A)} / ${fmt(x.collateralP99Ms.A)} | ${fmt(x.collateralP50Ms.B)} / ${fmt(x.collateralP99Ms.B)} |`,
      );
    }
  }
  lines.push('');
  return lines;
}

function scenarioSection(s: ScenarioReport): string[] {
  const ok = s.runs.filter((x) => !x.error);
  return [
    `## Scenario ${s.id} — ${s.name}`,
    '',
    s.description,
    '',
    ...runsTable(s.runs),
    ...latencyNotes(ok),
    ...ok.flatMap(processTable),
    ...ok.filter((x) => x.variant === 'fleet' || x.system === 'C').flatMap(redisCommandTable),
  ];
}

function runsTable(runs: RunResult[]): string[] {
  const lines = [
    '| system | variant | r ms | decisions/s | p50 ms | p99 ms | p999 ms | accepted | rejected | oversells | variance | ledger drain ms | collateral p50 / p99 ms | load 1m start→end | other processes’ CPU % |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const x of runs) {
    if (x.error) {
      lines.push(
        `| ${x.system} | ${x.variant} | ${x.rttMs ?? 0} | FAILED: ${x.error.replace(/\|/g, '/').slice(0, 200)} ||||||||||||`,
      );
      continue;
    }
    lines.push(
      `| ${x.system} | ${x.variant}${x.truncated ? ' (truncated)' : ''} | ${x.rttMs ?? 0} | ${int(x.decisionsPerSec)} | ${fmt(x.latencyMs.p50)} | ` +
        `${fmt(x.latencyMs.p99)} | ${fmt(x.latencyMs.p999)} | ${int(x.accepted)} | ${int(x.rejected)} | ` +
        `${x.oversells}${x.violations.length ? ` (${x.violations.length} violations)` : ''} | ` +
        `${x.system === 'A' ? fmt(x.variance) : '–'} | ${x.system === 'A' ? int(x.drainMs) : '–'} | ` +
        `${x.collateral ? `${fmt(x.collateral.all.p50)} / ${fmt(x.collateral.all.p99)}` : '–'} | ` +
        `${x.loadavgStart[0].toFixed(2)} → ${x.loadavgEnd[0].toFixed(2)} | ${fmt(x.machineCpu?.othersPercent)} |`,
    );
  }
  lines.push('');
  return lines;
}

/** C's amortised pipeline time; each paced A run's latency and how late its producers were. */
function latencyNotes(ok: RunResult[]): string[] {
  const lines: string[] = [];
  const e = ok.find((x) => x.system === 'C')?.extraLatencyMs?.perPipelineDividedBySize;
  if (e) {
    lines.push(
      `C per-pipeline time ÷ pipeline size: p50 ${fmt(e.p50, 3)} ms, p99 ${fmt(e.p99, 3)} ms.`,
      '',
    );
  }
  for (const al of ok.filter((x) => x.system === 'A' && x.variant !== 'fleet')) {
    const late = al.producerLatenessMs;
    lines.push(
      `Latency run ${al.variant}: producers paced to ${int(al.targetRatePerSec)}/s, achieved ${int(al.decisionsPerSec)} decisions/s; ` +
        `p50 ${fmt(al.latencyMs.p50)} ms, p99 ${fmt(al.latencyMs.p99)} ms, p999 ${fmt(al.latencyMs.p999)} ms` +
        (late
          ? `; producers behind their schedule p50 ${fmt(late.p50)} ms, p99 ${fmt(late.p99)} ms, max ${fmt(late.max)} ms.`
          : '.'),
      '',
    );
  }
  return lines;
}

function processTable(x: RunResult): string[] {
  const lines = [
    `Processes, ${x.system}/${x.variant} (CPU % of one core over the measurement window incl. drain; RSS when the window opened and its peak — services: max of VmHWM and sampled VmRSS):`,
    '',
    '| process | CPU % | CPU µs per decision | RSS at start MB | peak RSS MB | V8 heap total / used MB at end |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const p of x.processes) {
    const heap = x.serviceMemoryMb?.[p.name];
    lines.push(
      `| ${p.name}${p.kind === 'server' ? ' (shared server)' : ''} | ${fmt(p.cpuPercent)} | ` +
        `${fmt(x.perDecisionUs?.cpu[p.name])} | ${fmt(p.rssAtStartMb)} | ${fmt(p.peakRssMb)} | ` +
        `${heap ? `${fmt(heap.heapTotal)} / ${fmt(heap.heapUsed)}` : ''} |`,
    );
  }
  if (x.machineCpu && x.machineCpu.busyPercent !== null) {
    lines.push(
      `| (all other processes on the machine) | ${fmt(x.machineCpu.othersPercent)} | | | | |`,
      `| (whole machine busy, of which steal ${fmt(x.machineCpu.stealPercent)}) | ${fmt(x.machineCpu.busyPercent)} | | | | |`,
    );
  }
  lines.push('');
  return lines;
}

function redisCommandTable(x: RunResult): string[] {
  if (!x.redisCommands?.length) return [];
  const lines = [
    `Redis time by command during ${x.system}/${x.variant} (INFO commandstats diff of the whole, shared server; ` +
      `commands run inside scripts are counted in EVALSHA and again on their own line; ` +
      `EVALSHA µs per decision: ${fmt(x.perDecisionUs?.redisEvalsha)}):`,
    '',
    '| command | calls | µs/call | share |',
    '|---|---:|---:|---:|',
  ];
  for (const c of x.redisCommands.slice(0, 8)) {
    lines.push(
      `| ${c.command} | ${int(c.calls)} | ${fmt(c.usecPerCall)} | ${fmt(c.share * 100)} % |`,
    );
  }
  lines.push('');
  return lines;
}

function targetsTable(r: BenchReport): string[] {
  const lines = [
    '## Design targets (reported, not asserted)',
    '',
    '| target | scenario | value | threshold | met |',
    '|---|---:|---:|---|---|',
  ];
  for (const t of r.targets) {
    lines.push(
      `| ${t.target} | ${t.scenario ?? '–'} | ${fmt(t.value, 2)} | ${t.threshold} | ${t.met === null ? 'n/a' : t.met ? 'met' : '**missed**'} |`,
    );
  }
  lines.push('');
  return lines;
}

/** "1 shard vs 3 shards": both sides of one run, side by side, and 3 ÷ 1. */
function shardSection(c: ShardComparison | null): string[] {
  if (!c) return [];
  const lines = ['## 1 shard vs 3 shards', ''];
  lines.push(
    `A (the fleet, max rate) on scenario ${c.scenario.id} ${c.scenario.name} at scale ${c.scale} ` +
      `(${c.scenario.description}); ${c.setup}. Both measured in this run, one after the other. ` +
      'On 2 cores this cannot show throughput scaling (3 primaries and the services share the ' +
      'same cores); CPU per decision and how Redis CPU spreads over the nodes is what it shows.',
    '',
  );
  for (const f of c.failures) lines.push(`- FAILED: ${f}`);
  if (c.failures.length) lines.push('');
  const runs = c.runs;
  if (!runs.length) return [...lines, 'No run completed.', ''];
  const head = runs.map(
    (r) => `${r.shards} shard${r.shards > 1 ? 's' : ''} (${r.shardNames.join(',')})`,
  );
  const ratioCol = runs.length === 2;
  lines.push(
    `| | ${head.join(' | ')} |${ratioCol ? ' 3 ÷ 1 |' : ''}`,
    `|---|${runs.map(() => '---:').join('|')}|${ratioCol ? '---:|' : ''}`,
  );
  const row = (name: string, vals: Array<number | null | undefined>, ratio?: number | null) =>
    lines.push(
      `| ${name} | ${vals.map((v) => fmt(v)).join(' | ')} |${ratioCol ? ` ${ratio === undefined ? '' : fmt(ratio, 2)} |` : ''}`,
    );
  const ratioOf = (vals: Array<number | null | undefined>) =>
    vals[0] && vals[1] ? Math.round((vals[1] / vals[0]) * 100) / 100 : null;
  row(
    'decisions/s',
    runs.map((r) => r.decisionsPerSec),
    c.ratios.decisionsPerSec,
  );
  lines.push(
    `| p50 / p99 latency, ms (unpaced) | ${runs.map((r) => `${fmt(r.latencyP50Ms)} / ${fmt(r.latencyP99Ms)}`).join(' | ')} |${ratioCol ? ' |' : ''}`,
  );
  row(
    'CPU µs per decision, all processes',
    runs.map((r) => r.cpuUsPerDecision.total),
    c.ratios.cpuUsPerDecision,
  );
  const procs = [...new Set(runs.flatMap((r) => Object.keys(r.cpuUsPerDecision.byProcess)))].filter(
    (p) => !p.startsWith('redis :'),
  );
  for (const p of procs) {
    const vals = runs.map((r) => r.cpuUsPerDecision.byProcess[p]);
    row(`CPU µs/decision: ${p}`, vals, ratioOf(vals));
  }
  // Redis nodes by port (their names differ between the runs: the shards they serve).
  const ports = [
    ...new Set(runs.flatMap((r) => r.redisNodes.map((n) => /:(\d+)/.exec(n.name)?.[1]))),
  ];
  for (const port of ports) {
    const nodes = runs.map((r) => r.redisNodes.find((n) => n.name.includes(`:${port} `)));
    lines.push(
      `| Redis :${port} CPU µs/decision (% of a core) | ${nodes
        .map(
          (n) =>
            `${fmt(n?.cpuUsPerDecision)} (${fmt(n?.cpuPercent)} %) ${n?.name.replace(/^redis :\d+ /, '') ?? ''}`,
        )
        .join(' | ')} |${ratioCol ? ' |' : ''}`,
    );
  }
  lines.push('');
  return lines;
}
