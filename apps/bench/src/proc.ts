/**
 * Per-process resource accounting from /proc (Linux): CPU time (utime + stime) over a window and
 * peak resident memory (VmHWM at the end, plus VmRSS sampled during the window — VmHWM of a
 * shared server such as redis-server or mariadbd covers its whole life, so for those only the
 * sampled peak means anything).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let clkTck: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (getconf CLK_TCK, usually 100). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a process in seconds (undefined once it is gone). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return undefined;
  }
}

/** VmRSS and VmHWM in MB (undefined once the process is gone or unreadable). */
export function memoryMb(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Pids whose /proc/<pid>/comm is one of `names` (e.g. redis-server, mariadbd). */
export function findPids(names: string[]): Array<{ pid: number; comm: string }> {
  const out: Array<{ pid: number; comm: string }> = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const comm = readFileSync(`/proc/${e}/comm`, 'utf8').trim();
      if (names.includes(comm)) out.push({ pid: Number(e), comm });
    } catch {
      /* gone */
    }
  }
  return out;
}

export interface WatchedProcess {
  name: string;
  pid: number;
  /** A holdfast service started for this run (its VmHWM is meaningful), or a shared server. */
  kind: 'service' | 'server' | 'bench';
}

export interface ProcessStats {
  name: string;
  pid: number;
  kind: WatchedProcess['kind'];
  /** CPU seconds (user + system) spent inside the window. */
  cpuSeconds: number | null;
  /** cpuSeconds ÷ window wall time, in % of one core (200 % = both cores of a 2-core box). */
  cpuPercent: number | null;
  /** Services: max(VmHWM at the end, sampled VmRSS). Servers and the bench: sampled VmRSS peak. */
  peakRssMb: number | null;
  /** VmHWM at the end of the window (whole life of the process). */
  hwmMb: number | null;
  /** Largest VmRSS seen by sampling inside the window. */
  sampledPeakRssMb: number | null;
  /** VmRSS when the window opened (services: after start-up, before any load). */
  rssAtStartMb: number | null;
}

/** Jiffies of the whole machine from /proc/stat: busy (incl. steal) and steal alone. */
export function machineTicks(): { busy: number; steal: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = v as number[];
    const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
    return { busy, steal: steal ?? 0, total: busy + idle! + (iowait ?? 0) };
  } catch {
    return undefined;
  }
}

export interface MachineCpu {
  /** Busy CPU of the whole machine in the window, % of one core (max = cores × 100). */
  busyPercent: number | null;
  /** CPU stolen by the hypervisor, % of one core. */
  stealPercent: number | null;
  /** Busy CPU not accounted for by the watched processes (other users' work), % of one core. */
  othersPercent: number | null;
}

/** Samples CPU and memory of a set of processes over one measurement window. */
export class ProcessMonitor {
  private readonly cpu0 = new Map<number, number | undefined>();
  private readonly peak = new Map<number, number>();
  private readonly first = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private result: ProcessStats[] | undefined;
  private m0: ReturnType<typeof machineTicks>;
  /** Whole-machine CPU over the window (set by stop()). */
  machine: MachineCpu = { busyPercent: null, stealPercent: null, othersPercent: null };

  constructor(
    private readonly procs: WatchedProcess[],
    private readonly sampleMs = 200,
  ) {}

  start(): void {
    this.t0 = performance.now();
    this.m0 = machineTicks();
    for (const p of this.procs) this.cpu0.set(p.pid, cpuSeconds(p.pid));
    this.sample();
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  private sample(): void {
    for (const p of this.procs) {
      const m = memoryMb(p.pid);
      if (m && !Number.isNaN(m.rss)) {
        this.peak.set(p.pid, Math.max(this.peak.get(p.pid) ?? 0, m.rss));
        if (!this.first.has(p.pid)) this.first.set(p.pid, m.rss);
      }
    }
  }

  /** Ends the window (call before the processes exit). Idempotent. */
  stop(): ProcessStats[] {
    if (this.result) return this.result;
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const wallS = (performance.now() - this.t0) / 1000;
    const r1 = (v: number) => Math.round(v * 10) / 10;
    const m1 = machineTicks();
    this.result = this.procs.map((p) => {
      const c0 = this.cpu0.get(p.pid);
      const c1 = cpuSeconds(p.pid);
      const cpu = c0 !== undefined && c1 !== undefined ? c1 - c0 : null;
      const m = memoryMb(p.pid);
      const sampled = this.peak.get(p.pid) ?? null;
      const hwm = m && !Number.isNaN(m.hwm) ? m.hwm : null;
      const peak = p.kind === 'service' ? Math.max(hwm ?? 0, sampled ?? 0) || null : sampled;
      return {
        name: p.name,
        pid: p.pid,
        kind: p.kind,
        cpuSeconds: cpu === null ? null : Math.round(cpu * 100) / 100,
        cpuPercent: cpu === null || wallS <= 0 ? null : r1((cpu / wallS) * 100),
        peakRssMb: peak === null ? null : r1(peak),
        hwmMb: hwm === null ? null : r1(hwm),
        sampledPeakRssMb: sampled === null ? null : r1(sampled),
        rssAtStartMb: this.first.has(p.pid) ? r1(this.first.get(p.pid)!) : null,
      };
    });
    if (this.m0 && m1 && wallS > 0) {
      const tck = clockTicks();
      const busy = (m1.busy - this.m0.busy) / tck;
      const ours = this.result.reduce((n, p) => n + (p.cpuSeconds ?? 0), 0);
      this.machine = {
        busyPercent: r1((busy / wallS) * 100),
        stealPercent: r1(((m1.steal - this.m0.steal) / tck / wallS) * 100),
        othersPercent: r1((Math.max(0, busy - ours) / wallS) * 100),
      };
    }
    return this.result;
  }
}

let benchRedisPid: number | undefined;

/** The pid of the Redis the benchmark talks to (INFO server process_id), to name it apart. */
export function setBenchRedisPid(pid: number | undefined): void {
  benchRedisPid = pid;
}

let network: WatchedProcess | undefined;

/**
 * The --rtt-ms proxy process while one runs (./rtt-network.ts): watched so its CPU is visible,
 * but named "not the benchmark's" so no system's CPU per decision counts it — it stands in for
 * the network, which costs the hosts of production no CPU of theirs.
 */
export function setNetworkProcess(pid: number | undefined, delayMs = 0): void {
  network =
    pid === undefined
      ? undefined
      : {
          name: `rtt proxies ${delayMs} ms (the network, not the benchmark's)`,
          pid,
          kind: 'server',
        };
}

/**
 * redis-server and the MySQL/MariaDB server processes on this host (shared with other users),
 * and the --rtt-ms proxies while they run. Another redis-server (someone's test instance) is
 * listed under its pid.
 */
export function serverProcesses(): WatchedProcess[] {
  return [...databaseServers(), ...(network ? [network] : [])];
}

function databaseServers(): WatchedProcess[] {
  const found = findPids(['redis-server', 'mariadbd', 'mysqld']);
  const count = new Map<string, number>();
  for (const f of found) count.set(f.comm, (count.get(f.comm) ?? 0) + 1);
  return found.map(({ pid, comm }) => {
    let name = comm;
    if (comm === 'redis-server' && benchRedisPid !== undefined && pid !== benchRedisPid) {
      name = `redis-server pid ${pid} (not the benchmark's)`;
    } else if ((count.get(comm) ?? 0) > 1 && !(comm === 'redis-server' && pid === benchRedisPid)) {
      name = `${comm} pid ${pid}`;
    }
    return { name, pid, kind: 'server' as const };
  });
}

export function benchProcess(): WatchedProcess {
  return { name: 'bench (producers/clients)', pid: process.pid, kind: 'bench' };
}
