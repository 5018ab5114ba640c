/**
 * C — the physical limit: the reserver's own Lua gate (Gate.queue: the one-event scripts, made
 * of the same decision functions and configuration as the reserver's decideMany-4.lua) driven
 * straight at Redis with deep pipelining. No streams
 * in front of it, no consumer groups, no ledger-writer: what one Redis can decide per second
 * through this script. The script still appends each outcome and ledger entry, as in A.
 */
import { Gate, createRedis, loadScripts, type CheckoutCommand, type Redis } from '@holdfast/shared';
import {
  commandStats,
  defaultGateConfig,
  deleteNamespace,
  diffCommandStats,
  freshNamespace,
  loadNow,
} from './infra.js';
import { ProcessMonitor, benchProcess, serverProcesses } from './proc.js';
import { addUnits, armStock, checkRedisStock } from './redis-checks.js';
import { WARMUP_SKU, warmupSize, warmupStock, type Scenario } from './scenarios.js';
import { perSecond, summarize } from './stats.js';
import type { RunResult } from './types.js';
import type { BenchOptions } from './options.js';

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
    await armStock(admin, keys, armed, 'c');
    // The script is loaded once up front so the first pipeline does not pay for it.
    await admin.script('LOAD', loadScripts().get('reserve')!.lua);
    const gate = new Gate(keys, defaultGateConfig());
    const cmds: CheckoutCommand[] = sc.carts.map((lines, i) => ({
      type: 'reserve',
      eventId: `r${i}`,
      checkoutId: `c${i}`,
      userId: `u${i}`,
      lines: lines.map(([s, q]) => [s, q] as [string, number]),
    }));
    for (let i = 0; i < o.cConnections; i++)
      conns.push(createRedis(o.redisUrl, { name: `bench-c-${i}` }));
    await Promise.all(conns.map((c) => c.ping()));

    // Warm-up (untimed), same pipelines as the measured part.
    const w = warmupSize(sc.buyers);
    let warmAccepted = 0;
    for (let from = 0, k = 0; from < w; from += o.cPipeline, k++) {
      const p = conns[k % conns.length]!.pipeline();
      for (let i = from; i < Math.min(w, from + o.cPipeline); i++) {
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
        if (Gate.parse(value).status === 'reserved') warmAccepted++;
      }
    }

    const n = cmds.length;
    const lat = new Float64Array(n).fill(NaN);
    const amortized = new Float64Array(n).fill(NaN);
    const held = new Map<string, number>(warmAccepted ? [[WARMUP_SKU, warmAccepted]] : []);
    const byReason: Record<string, number> = {};
    let accepted = 0;
    let rejected = 0;
    let unitsTaken = 0;
    let errors = 0;
    let firstError = '';
    let next = 0;
    let decided = 0;
    let truncated = false;
    const monitor = new ProcessMonitor([...serverProcesses(), benchProcess()]);
    const statsBefore = await commandStats(admin);
    monitor.start();
    const t0 = performance.now();
    const deadline = t0 + o.timeLimitS * 1000;
    let tEnd = t0;
    await Promise.all(
      conns.flatMap((conn) =>
        Array.from({ length: o.cDepth }, async () => {
          while (next < n) {
            if (performance.now() > deadline) {
              truncated = true;
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
            const dt = te - ts;
            for (let i = from; i < to; i++) {
              const [err, value] = res[i - from] ?? [new Error('no reply')];
              if (err) {
                errors++;
                firstError ||= String(err);
                continue;
              }
              const d = Gate.parse(value);
              lat[i] = dt;
              amortized[i] = dt / (to - from);
              decided++;
              if (d.status === 'reserved') {
                accepted++;
                unitsTaken += addUnits(held, sc.carts[i]!);
              } else {
                rejected++;
                const k = d.reason ?? d.status;
                byReason[k] = (byReason[k] ?? 0) + 1;
              }
            }
          }
        }),
      ),
    );
    const wallMs = tEnd - t0;
    const processes = monitor.stop();
    const statsAfter = await commandStats(admin);
    log(`C ${sc.name}: ${decided} decisions in ${Math.round(wallMs)} ms`);

    const check = await checkRedisStock(admin, keys, armed, held);
    const violations = [...check.violations];
    if (errors) violations.push(`${errors} decisions failed (${firstError})`);
    const outcomes = await admin.xlen(keys.streams.outcomes);
    if (outcomes !== decided + w) {
      violations.push(`${outcomes} outcomes for ${decided} + ${w} (warm-up) decisions`);
    }
    const ledger = await admin.xlen(keys.shard().ledger);
    if (ledger !== accepted + warmAccepted + armed.length) {
      violations.push(
        `${ledger} ledger entries, expected ${accepted} + ${warmAccepted} reserves + ${armed.length} restocks`,
      );
    }
    return {
      system: 'C',
      variant: 'lua-pipeline',
      buyers: n,
      decisions: decided,
      accepted,
      rejected,
      byReason,
      unitsTaken,
      wallMs: Math.round(wallMs),
      decisionsPerSec: perSecond(decided, wallMs),
      throughputDefinition: 'decisions ÷ (last pipeline reply − first pipeline sent), client clock',
      latencyMs: summarize(lat),
      latencyDefinition:
        `per decision: the wall time of the pipeline it was sent in (${o.cPipeline} decisions, ` +
        `${o.cConnections} connections × ${o.cDepth} pipelines in flight) — a decision's answer arrives with its pipeline`,
      extraLatencyMs: { perPipelineDividedBySize: summarize(amortized) },
      oversells: check.oversells,
      oversoldUnits: check.oversoldUnits,
      violations: violations.slice(0, 50),
      processes,
      machineCpu: monitor.machine,
      redisCommands: diffCommandStats(statsBefore, statsAfter),
      truncated,
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
