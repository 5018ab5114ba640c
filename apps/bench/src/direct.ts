/**
 * C — the physical limit: the reserver's own Lua gate (Gate.queue: the one-event scripts, made
 * of the same decision functions and configuration as the reserver's decideMany-5.lua) driven
 * straight at Redis with deep pipelining. No streams
 * in front of it, no consumer groups, no ledger-writer: what one Redis can decide per second
 * through this script. The script still appends each outcome and ledger entry, as in A.
 */
import {
  Gate,
  createRedis,
  deleteNamespace,
  loadScripts,
  type CheckoutCommand,
  type Keys,
  type Redis,
} from '@holdfast/shared';
import { defaultGateConfig, freshNamespace } from './infra.js';
import { loadNow } from './machine.js';
import type { BenchOptions } from './options.js';
import { ProcessMonitor, benchProcess, serverProcesses } from './proc.js';
import { addUnits, armStock, checkRedisStock, type StockCheck } from './redis-checks.js';
import { commandStats, diffCommandStats } from './redis-stats.js';
import { WARMUP_SKU, warmupSize, warmupStock, type Scenario } from './scenarios.js';
import { perSecond, summarize } from './stats.js';
import type { RunResult } from './types.js';

export async function runDirect(
  sc: Scenario,
  o: BenchOptions,
  log: (m: string) => void,
): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const loadavgStart = loadNow();
  const { namespace, keys } = freshNamespace(`c${sc.id}`);
  const admin = createRedis(o.redisUrl, { name: 'bench-c-admin' });
  const conns: Redis[] = [];
  try {
    const armed = [...sc.stock, warmupStock(sc.buyers)];
    const gate = await prepareGate(admin, keys, armed);
    const cmds = reserveCommands(sc);
    for (let i = 0; i < o.cConnections; i++)
      conns.push(createRedis(o.redisUrl, { name: `bench-c-${i}` }));
    await Promise.all(conns.map((c) => c.ping()));
    const w = warmupSize(sc.buyers);
    const warmAccepted = await warmUpGate(conns, gate, w, o.cPipeline);

    const tally = new GateTally(sc, warmAccepted);
    const monitor = new ProcessMonitor([...serverProcesses(), benchProcess()]);
    const statsBefore = await commandStats(admin);
    monitor.start();
    await decideAll(conns, gate, cmds, o, tally);
    const processes = monitor.stop();
    const statsAfter = await commandStats(admin);
    log(`C ${sc.name}: ${tally.decided} decisions in ${Math.round(tally.wallMs)} ms`);

    const check = await checkRedisStock(admin, keys, armed, tally.held);
    const counts = { warmUp: w, restocks: armed.length };
    const violations = [...check.violations, ...(await gateViolations(admin, keys, tally, counts))];
    return {
      ...gateFigures(o, tally, check, violations),
      processes,
      machineCpu: monitor.machine,
      redisCommands: diffCommandStats(statsBefore, statsAfter),
      truncated: tally.truncated,
      loadavgStart,
      loadavgEnd: loadNow(),
      startedAt,
      notes: [
        `warm-up: ${w} decisions on ${WARMUP_SKU} before the window, excluded from the figures`,
        `${o.cConnections} connections × ${o.cDepth} pipelines in flight × ${o.cPipeline} decisions per pipeline`,
      ],
    };
  } finally {
    for (const c of conns) c.disconnect();
    if (!o.keep) await deleteNamespace(admin, namespace).catch(() => {});
    admin.disconnect();
  }
}

/** Arms the SKUs; loads the script up front so the first pipeline does not pay for it. */
async function prepareGate(
  admin: Redis,
  keys: Keys,
  armed: Array<[string, number]>,
): Promise<Gate> {
  await armStock(admin, keys, armed, 'c');
  await admin.script('LOAD', loadScripts().get('reserve')!.lua);
  return new Gate(keys, defaultGateConfig());
}

/** The buyers as the gate's commands (same ids as A's events). */
function reserveCommands(sc: Scenario): CheckoutCommand[] {
  return sc.carts.map((lines, i) => ({
    type: 'reserve',
    eventId: `r${i}`,
    checkoutId: `c${i}`,
    userId: `u${i}`,
    lines: lines.map(([s, q]) => [s, q] as [string, number]),
  }));
}

/** The untimed warm-up, same pipelines as the measured part; returns the accepted count. */
async function warmUpGate(conns: Redis[], gate: Gate, w: number, size: number): Promise<number> {
  let accepted = 0;
  for (let from = 0, k = 0; from < w; from += size, k++) {
    const p = conns[k % conns.length]!.pipeline();
    for (let i = from; i < Math.min(w, from + size); i++) {
      gate.queue(p, {
        type: 'reserve',
        eventId: `w${i}`,
        checkoutId: `wc${i}`,
        userId: `wu${i}`,
        lines: [[WARMUP_SKU, 1]],
      });
    }
    for (const [err, value] of (await p.exec()) ?? []) {
      if (err) throw err;
      if (Gate.parse(value).status === 'reserved') accepted++;
    }
  }
  return accepted;
}

/** The measured decisions: latency, status and units per buyer. */
class GateTally {
  /** Wall time of the pipeline buyer i was decided in, ms. */
  readonly latency: Float64Array;
  /** That pipeline's time ÷ its size, ms. */
  readonly amortized: Float64Array;
  readonly held: Map<string, number>;
  readonly byReason: Record<string, number> = {};
  accepted = 0;
  rejected = 0;
  unitsTaken = 0;
  errors = 0;
  firstError = '';
  decided = 0;
  truncated = false;
  /** First pipeline sent → last reply, ms. */
  wallMs = 0;

  constructor(
    private readonly sc: Scenario,
    /** Warm-up decisions accepted (held units of WARMUP_SKU). */
    readonly warmAccepted: number,
  ) {
    this.latency = new Float64Array(sc.carts.length).fill(NaN);
    this.amortized = new Float64Array(sc.carts.length).fill(NaN);
    this.held = new Map(warmAccepted ? [[WARMUP_SKU, warmAccepted]] : []);
  }

  add(i: number, [err, value]: [Error | null, unknown], pipelineMs: number, size: number): void {
    if (err) {
      this.errors++;
      this.firstError ||= String(err);
      return;
    }
    const d = Gate.parse(value);
    this.latency[i] = pipelineMs;
    this.amortized[i] = pipelineMs / size;
    this.decided++;
    if (d.status === 'reserved') {
      this.accepted++;
      this.unitsTaken += addUnits(this.held, this.sc.carts[i]!);
    } else {
      this.rejected++;
      const k = d.reason ?? d.status;
      this.byReason[k] = (this.byReason[k] ?? 0) + 1;
    }
  }
}

/**
 * Every buyer through the gate: `cConnections` × `cDepth` loops, each sending the next
 * `cPipeline` commands as one pipeline; stops at --time-limit (truncated).
 */
async function decideAll(
  conns: Redis[],
  gate: Gate,
  cmds: CheckoutCommand[],
  o: BenchOptions,
  tally: GateTally,
): Promise<void> {
  const n = cmds.length;
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + o.timeLimitS * 1000;
  let tEnd = t0;
  const pipelines = async (conn: Redis) => {
    while (next < n) {
      if (performance.now() > deadline) {
        tally.truncated = true;
        return;
      }
      const from = next;
      const to = Math.min(n, from + o.cPipeline);
      next = to;
      const p = conn.pipeline();
      for (let i = from; i < to; i++) gate.queue(p, cmds[i]!);
      const ts = performance.now();
      const res = (await p.exec()) ?? [];
      const te = performance.now();
      tEnd = Math.max(tEnd, te);
      for (let i = from; i < to; i++)
        tally.add(i, res[i - from] ?? [new Error('no reply'), null], te - ts, to - from);
    }
  };
  await Promise.all(conns.flatMap((c) => Array.from({ length: o.cDepth }, () => pipelines(c))));
  tally.wallMs = tEnd - t0;
}

/** Decisions that failed; one outcome per decision; one ledger entry per state change. */
async function gateViolations(
  admin: Redis,
  keys: Keys,
  tally: GateTally,
  counts: { warmUp: number; restocks: number },
): Promise<string[]> {
  const out: string[] = [];
  if (tally.errors) out.push(`${tally.errors} decisions failed (${tally.firstError})`);
  const outcomes = await admin.xlen(keys.shard().outcomes);
  if (outcomes !== tally.decided + counts.warmUp)
    out.push(`${outcomes} outcomes for ${tally.decided} + ${counts.warmUp} (warm-up) decisions`);
  const ledger = await admin.xlen(keys.shard().ledger);
  if (ledger !== tally.accepted + tally.warmAccepted + counts.restocks) {
    out.push(
      `${ledger} ledger entries, expected ${tally.accepted} + ${tally.warmAccepted} reserves + ${counts.restocks} restocks`,
    );
  }
  return out;
}

type GateFigures = Omit<
  RunResult,
  | 'processes'
  | 'machineCpu'
  | 'redisCommands'
  | 'truncated'
  | 'loadavgStart'
  | 'loadavgEnd'
  | 'startedAt'
  | 'notes'
>;

/** The run's figures (docs/benchmarks.md, "What each figure means"). */
function gateFigures(
  o: BenchOptions,
  tally: GateTally,
  check: StockCheck,
  violations: string[],
): GateFigures {
  return {
    system: 'C',
    variant: 'lua-pipeline',
    buyers: tally.latency.length,
    decisions: tally.decided,
    accepted: tally.accepted,
    rejected: tally.rejected,
    byReason: tally.byReason,
    unitsTaken: tally.unitsTaken,
    wallMs: Math.round(tally.wallMs),
    decisionsPerSec: perSecond(tally.decided, tally.wallMs),
    throughputDefinition: 'decisions ÷ (last pipeline reply − first pipeline sent), client clock',
    latencyMs: summarize(tally.latency),
    latencyDefinition:
      `per decision: the wall time of the pipeline it was sent in (${o.cPipeline} decisions, ` +
      `${o.cConnections} connections × ${o.cDepth} pipelines in flight) — a decision's answer arrives with its pipeline`,
    extraLatencyMs: { perPipelineDividedBySize: summarize(tally.amortized) },
    oversells: check.oversells,
    oversoldUnits: check.oversoldUnits,
    violations: violations.slice(0, 50),
  };
}
