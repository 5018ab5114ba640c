/**
 * The real fleet, driven through the supervisor's programmatic API (`startFleet`, what
 * `holdfast fleet` runs): every service is a child process running its real main.ts. This
 * wrapper records every output line and lifecycle event, counts HOLDFAST_FAULT self-kills,
 * and offers the chaos operations (SIGKILL a child when it holds pending entries, RSS, health).
 *
 * Several fleets may run in one test process (scale-out, a faulty replica next to healthy
 * ones): each gets its own CONSUMER_NAME prefix, because the supervisor's default consumer
 * names are derived from the host and *this* process's pid and would collide.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import {
  startFleet,
  type Fleet,
  type FleetChild,
  type FleetEvent,
  type ServiceName,
} from '@holdfast/fleet';
import type { Redis } from 'ioredis';
import { sampleOf } from '@holdfast/testkit';

export type { ServiceName, FleetChild };

export interface ChaosFleetOptions {
  /** Unique per fleet in a scenario: the consumer-name prefix. */
  name: string;
  env: Record<string, string | undefined>;
  replicas?: number;
  only?: readonly ServiceName[];
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** Keep every output line (security scenario); default keeps the last 20 000. */
  keepAllLines?: boolean;
  readyTimeoutMs?: number;
  /** Don't wait for every child to log "started" (children expected to fail). */
  noWait?: boolean;
}

export interface LineRecord {
  at: number;
  child: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

let fleets = 0;

export class ChaosFleet {
  readonly lines: LineRecord[] = [];
  readonly events: Array<{
    at: number;
    type: FleetEvent['type'];
    child?: string;
    signal?: string | null;
    code?: number | null;
  }> = [];
  /** HOLDFAST_FAULT self-kills by point. */
  readonly faultHits = new Map<string, number>();
  /** Exits of children that were not asked to stop (crashes, kills). */
  readonly crashes: Array<{
    at: number;
    child: string;
    signal: string | null;
    code: number | null;
  }> = [];
  /** Lines that look like a crash of a service (fatal logs, uncaught errors). */
  readonly fatal: LineRecord[] = [];
  private stopping = false;
  private exitWaiters: Array<{ child: FleetChild; pid: number; resolve: () => void }> = [];

  private constructor(
    readonly fleet: Fleet,
    readonly opts: ChaosFleetOptions,
    /** CONSUMER_NAME given to the children; replica i consumes as `<prefix>-<i>`. */
    readonly consumerPrefix: string,
  ) {}

  static async start(opts: ChaosFleetOptions): Promise<ChaosFleet> {
    // Lines and events can arrive before the wrapper exists: queue them until then.
    const box: { self?: ChaosFleet } = {};
    const pending: Array<(f: ChaosFleet) => void> = [];
    const deliver = (fn: (f: ChaosFleet) => void) => (box.self ? fn(box.self) : pending.push(fn));
    const consumerPrefix = `${opts.name}-${process.pid}-${++fleets}`;
    const fleet = startFleet({
      replicas: opts.replicas ?? 1,
      ...(opts.only ? { only: opts.only } : {}),
      env: {
        METRICS_PORT: '0',
        LOG_LEVEL: 'info',
        HOLDFAST_FAULT: undefined,
        ...opts.env,
        CONSUMER_NAME: consumerPrefix,
      },
      backoff: { initialMs: 300, maxMs: 2_000, resetAfterMs: 10_000, ...opts.backoff },
      stopTimeoutMs: 20_000,
      onLine: (l) => deliver((f) => f.onLine(l.child, l.stream, l.line, l.record)),
      onEvent: (e) => deliver((f) => f.onEvent(e)),
    });
    const self = new ChaosFleet(fleet, opts, consumerPrefix);
    box.self = self;
    for (const fn of pending) fn(self);
    if (opts.noWait) return self;
    try {
      await fleet.ready(opts.readyTimeoutMs ?? 90_000);
    } catch (err) {
      const tail = self.lines
        .slice(-20)
        .map((l) => `${l.child} ${l.line}`)
        .join('\n');
      await fleet.stop();
      throw new Error(`${(err as Error).message}\n${tail}`);
    }
    return self;
  }

  private onLine(
    child: FleetChild,
    stream: 'stdout' | 'stderr',
    line: string,
    rec: Record<string, unknown> | undefined,
  ) {
    const r: LineRecord = { at: Date.now(), child: child.name, stream, line };
    this.lines.push(r);
    if (!this.opts.keepAllLines && this.lines.length > 20_000) this.lines.splice(0, 5_000);
    const m = /HOLDFAST_FAULT: killing myself at (\S+)/.exec(line);
    if (m) this.faultHits.set(m[1]!, (this.faultHits.get(m[1]!) ?? 0) + 1);
    // A fatal log record, or what Node prints when a process dies of an uncaught error or OOM.
    // (Libraries' "[ioredis] Unhandled error event" lines while a server is down are noise.)
    const level = typeof rec?.level === 'number' ? rec.level : 0;
    const dying =
      !rec &&
      stream === 'stderr' &&
      /Uncaught|uncaughtException|FATAL ERROR|Unhandled promise rejection|Aborted/.test(line);
    if (level >= 60 || dying) {
      if (this.fatal.length < 200) this.fatal.push(r);
    }
  }

  private onEvent(e: FleetEvent) {
    const child = 'child' in e ? e.child.name : undefined;
    if (e.type === 'exit') {
      this.events.push({ at: Date.now(), type: e.type, child, signal: e.signal, code: e.code });
      if (!this.stopping)
        this.crashes.push({ at: Date.now(), child: child!, signal: e.signal, code: e.code });
      this.exitWaiters = this.exitWaiters.filter((w) => {
        if (w.pid !== e.pid) return true;
        w.resolve();
        return false;
      });
    } else {
      this.events.push({ at: Date.now(), type: e.type, ...(child ? { child } : {}) });
    }
  }

  get children(): readonly FleetChild[] {
    return this.fleet.children;
  }

  child(service: ServiceName, replica = 0): FleetChild {
    const c = this.fleet.children.find((x) => x.service === service && x.replica === replica);
    if (!c) throw new Error(`no ${service}#${replica} in fleet ${this.opts.name}`);
    return c;
  }

  /** The consumer name a child uses in its groups (stable across its restarts). */
  consumerOf(c: FleetChild): string {
    return `${this.consumerPrefix}-${c.replica}`;
  }

  /** SIGKILL a child (the supervisor restarts it after its backoff); resolves once it exited. */
  async kill9(c: FleetChild): Promise<number | undefined> {
    const pid = c.pid;
    if (!pid) return undefined;
    const done = new Promise<void>((resolve) => this.exitWaiters.push({ child: c, pid, resolve }));
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return undefined;
    }
    await done;
    return pid;
  }

  /** Resolves once `c` is running again (a new "started" after a restart). */
  async waitRunning(c: FleetChild, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (c.state !== 'running' || !c.metricsPort) {
      if (Date.now() > deadline) throw new Error(`${c.name} not running again (state ${c.state})`);
      await sleep(50);
    }
  }

  async waitAllRunning(timeoutMs = 60_000): Promise<void> {
    for (const c of this.children) await this.waitRunning(c, timeoutMs);
  }

  /** Resident set size of a child, bytes (from /proc/<pid>/status). */
  static rss(pid: number | undefined): number | undefined {
    if (!pid) return undefined;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  static alive(pid: number | undefined): boolean {
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  static async healthz(c: FleetChild, timeoutMs = 3000): Promise<number> {
    return (await ChaosFleet.probe(c, timeoutMs)).status;
  }

  /** GET /healthz: status (0 = no answer), latency, and the error or body. */
  static async probe(
    c: FleetChild,
    timeoutMs = 3000,
  ): Promise<{ status: number; ms: number; detail: string }> {
    const t0 = Date.now();
    if (!c.metricsPort) return { status: 0, ms: 0, detail: `no metrics port (state ${c.state})` };
    try {
      const res = await fetch(`http://127.0.0.1:${c.metricsPort}/healthz`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await res.text();
      return { status: res.status, ms: Date.now() - t0, detail: body.slice(0, 200) };
    } catch (err) {
      return { status: 0, ms: Date.now() - t0, detail: String((err as Error).message ?? err) };
    }
  }

  static async metricsText(c: FleetChild): Promise<string> {
    if (!c.metricsPort) return '';
    const res = await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    return res.text();
  }

  /** Sum of a metric's samples whose labels include `labels` (undefined when absent). */
  static async metric(
    c: FleetChild,
    name: string,
    labels: Record<string, string> = {},
  ): Promise<number | undefined> {
    return sampleOf(await ChaosFleet.metricsText(c), name, labels);
  }

  /**
   * SIGKILLs `c` at a moment it holds at least `minHeld` pending entries of `stream`/`group`
   * (i.e. mid-batch), or after `maxWaitMs` regardless. Returns how many entries it held.
   */
  async killWhenBusy(
    c: FleetChild,
    redis: Redis,
    stream: string,
    group: string,
    maxWaitMs = 15_000,
    minHeld = 1,
  ): Promise<number> {
    const consumer = this.consumerOf(c);
    const deadline = Date.now() + maxWaitMs;
    let held = 0;
    while (Date.now() < deadline) {
      held = await pendingOf(redis, stream, group, consumer);
      if (held >= minHeld) break;
      await sleep(2);
    }
    await this.kill9(c);
    return held;
  }

  async stop(): Promise<{ killed: number }> {
    this.stopping = true;
    return this.fleet.stop();
  }

  /** Every output line, as text (for secret scans). */
  allText(): string {
    return this.lines.map((l) => l.line).join('\n');
  }
}

/** Pending entries of one consumer of a group. */
export async function pendingOf(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
): Promise<number> {
  try {
    const s = (await redis.xpending(stream, group)) as [
      number,
      string | null,
      string | null,
      Array<[string, string]> | null,
    ];
    for (const [name, n] of s[3] ?? []) if (name === consumer) return Number(n);
  } catch {
    /* no group yet */
  }
  return 0;
}
