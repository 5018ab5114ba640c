/**
 * The fleet supervisor: runs holdfast's services as child processes in the foreground (one per
 * service and replica), restarts a crashed child with exponential backoff, and stops them all
 * in order. `holdfast fleet`, the demo and the chaos tests use it.
 *
 *   const fleet = startFleet({ replicas: 2, env: { HOLDFAST_NAMESPACE: 'x:' }, onLine: ... });
 *   await fleet.ready();
 *   ...
 *   await fleet.stop();
 *
 * Children run the compiled `apps/<svc>/dist/main.js` (see serviceNodeArgs) from the repository root, in
 * their own process group (a terminal's Ctrl-C reaches the supervisor only, which then stops
 * the children with SIGTERM). Replica 0 keeps the service's default METRICS_PORT unless
 * METRICS_PORT is set; replicas ≥ 1 get METRICS_PORT=0 (a free port, logged in "started").
 * Every replica gets a CONSUMER_NAME that is stable across its restarts, so a restarted child
 * takes back its own pending entries at once instead of waiting for CLAIM_IDLE_MS.
 *
 * The pieces: the options and each child's environment (./fleet-config.ts), a child's output
 * and end (./child-output.ts), the restart delays (./backoff.ts), the public types
 * (./fleet-types.ts); this file starts, restarts and stops the children.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ServiceName } from '@holdfast/shared';
import { RestartBackoff } from './backoff.js';
import { followChild } from './child-output.js';
import { childEnv, fleetSettings, type FleetSettings } from './fleet-config.js';
import type { Fleet, FleetChild, FleetEvent, FleetLine, FleetOptions } from './fleet-types.js';

/** Exit code of a service that rejected its configuration: restarting would not help. */
const CONFIG_ERROR_EXIT = 2;

/** Checks the options, then starts every child (FleetConfigError, BuildMissingError). */
export function startFleet(opts: FleetOptions = {}): Fleet {
  return new Supervisor(fleetSettings(opts), opts).start();
}

/** One child per service and replica: spawned, followed, restarted after a crash, stopped. */
class Supervisor implements Fleet {
  readonly children: FleetChild[];
  private isStopping = false;
  private stopped: Promise<{ killed: number }> | undefined;
  private readonly backoff: RestartBackoff;
  /** Children waiting to restart. */
  private readonly restartTimers = new Map<FleetChild, NodeJS.Timeout>();
  /** Per child: resolves once its current process has ended and been handled. */
  private readonly ended = new Map<FleetChild, Promise<void>>();
  private readonly readyWaiters = new Set<() => void>();
  // Last line of defence: if this process exits without stop(), take the children with it.
  private readonly onProcessExit = () => {
    for (const c of this.children) if (c.proc) killGroup(c.proc, 'SIGKILL');
  };

  constructor(
    private readonly settings: FleetSettings,
    /** Its onLine and onEvent are looked up at each call. */
    private readonly opts: FleetOptions,
  ) {
    this.children = newChildren(settings.services, settings.replicas);
    this.backoff = new RestartBackoff(settings.backoff);
  }

  get stopping(): boolean {
    return this.isStopping;
  }

  start(): this {
    process.on('exit', this.onProcessExit);
    for (const c of this.children) this.spawnChild(c);
    return this;
  }

  ready(timeoutMs = 60_000): Promise<void> {
    if (this.allRunning()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        this.readyWaiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.readyWaiters.delete(waiter);
        const late = this.children
          .filter((c) => c.state !== 'running')
          .map((c) => `${c.name} (${c.state})`);
        reject(new Error(`fleet not ready after ${timeoutMs} ms: ${late.join(', ')}`));
      }, timeoutMs);
      this.readyWaiters.add(waiter);
    });
  }

  stop(): Promise<{ killed: number }> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  kill(): void {
    this.stopSupervising();
    this.killAll('kill');
  }

  private spawnChild(child: FleetChild): void {
    if (this.isStopping) return;
    const { settings: s } = this;
    const env = childEnv(s.base, child.service, child.replica, s.fleetId);
    const proc = spawn(s.node, s.nodeArgs.get(child.service)!, {
      cwd: s.root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.proc = proc;
    child.pid = proc.pid;
    child.state = 'starting';
    child.metricsPort = undefined;
    child.startedAt = Date.now();
    const pid = proc.pid ?? -1;
    let done: () => void = () => {};
    this.ended.set(child, new Promise<void>((r) => (done = r)));
    this.emit({ type: 'spawn', child, pid });
    followChild(proc, {
      started: (metricsPort) => this.onStarted(child, proc, metricsPort),
      line: (stream, line, record) => this.forwardLine({ child, stream, line, record }),
      ended: ({ code, signal }) => {
        this.onExit(child, proc, code, signal);
        done();
      },
    });
  }

  private onStarted(child: FleetChild, proc: ChildProcess, metricsPort: number | undefined): void {
    if (child.proc !== proc) return;
    child.state = this.isStopping ? 'stopping' : 'running';
    child.metricsPort = metricsPort;
    this.emit({ type: 'started', child, pid: proc.pid ?? -1, metricsPort });
    if (this.allRunning()) for (const w of this.readyWaiters) w();
  }

  private onExit(
    child: FleetChild,
    proc: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (child.proc !== proc) return;
    const uptimeMs = Date.now() - child.startedAt;
    child.lastExit = { code, signal };
    child.proc = undefined;
    child.pid = undefined;
    child.metricsPort = undefined;
    this.emit({ type: 'exit', child, pid: proc.pid ?? -1, code, signal, uptimeMs });
    if (this.isStopping) {
      child.state = 'exited';
      return;
    }
    if (code === CONFIG_ERROR_EXIT) {
      child.state = 'failed';
      this.emit({
        type: 'gave-up',
        child,
        reason: 'configuration error (exit 2): fix the environment and start again',
      });
      return;
    }
    this.scheduleRestart(child, uptimeMs);
  }

  private scheduleRestart(child: FleetChild, uptimeMs: number): void {
    const { attempt, delayMs } = this.backoff.next(child, uptimeMs);
    child.state = 'backoff';
    this.emit({ type: 'restart-scheduled', child, delayMs, attempt });
    const t = setTimeout(() => {
      this.restartTimers.delete(child);
      if (this.isStopping) return;
      child.restarts++;
      this.spawnChild(child);
    }, delayMs);
    this.restartTimers.set(child, t);
  }

  private async stopAll(): Promise<{ killed: number }> {
    const t0 = Date.now();
    this.stopSupervising();
    const live = this.children.filter((c) => c.proc);
    this.emit({ type: 'stopping', children: live.length });
    this.terminateAll();
    const allEnded = Promise.all(live.map((c) => this.ended.get(c) ?? Promise.resolve()));
    let killed = 0;
    if (!(await settlesWithin(allEnded, this.settings.stopTimeoutMs))) {
      killed = this.killAll('deadline');
      await allEnded;
    }
    process.off('exit', this.onProcessExit);
    this.emit({ type: 'stopped', killed, durationMs: Date.now() - t0 });
    return { killed };
  }

  /** No more restarts: a crash from now on is an exit. */
  private stopSupervising(): void {
    this.isStopping = true;
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
  }

  /** SIGTERM to every running child (its graceful stop); one waiting to restart is done. */
  private terminateAll(): void {
    for (const c of this.children) {
      if (!c.proc) {
        if (c.state === 'backoff' || c.state === 'starting') c.state = 'exited';
        continue;
      }
      c.state = 'stopping';
      c.proc.kill('SIGTERM');
    }
  }

  /** SIGKILLs the process group of every child still running; how many. */
  private killAll(reason: 'deadline' | 'kill'): number {
    let killed = 0;
    for (const c of this.children) {
      if (!c.proc) continue;
      killed++;
      this.emit({ type: 'kill', child: c, pid: c.pid ?? -1, reason });
      killGroup(c.proc, 'SIGKILL');
    }
    return killed;
  }

  private allRunning(): boolean {
    return this.children.every((c) => c.state === 'running');
  }

  private emit(e: FleetEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      /* a listener's bug must not take the supervisor down */
    }
  }

  private forwardLine(line: FleetLine): void {
    try {
      this.opts.onLine?.(line);
    } catch {
      /* ignore listener errors */
    }
  }
}

/** The children of a fleet, by service then replica, none started yet. */
function newChildren(services: readonly ServiceName[], replicas: number): FleetChild[] {
  const children: FleetChild[] = [];
  for (const service of services) {
    for (let replica = 0; replica < replicas; replica++) {
      children.push({
        service,
        replica,
        name: `${service}#${replica}`,
        state: 'starting',
        proc: undefined,
        pid: undefined,
        metricsPort: undefined,
        restarts: 0,
        startedAt: 0,
        lastExit: undefined,
      });
    }
  }
  return children;
}

/** Whether `p` settles within `ms` (the timer is cleared either way). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let deadline: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    p.then(() => false),
    new Promise<boolean>((r) => (deadline = setTimeout(() => r(true), ms))),
  ]);
  clearTimeout(deadline);
  return !timedOut;
}

/** Kills a detached child's whole process group (falls back to the child itself). */
function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (proc.pid) process.kill(-proc.pid, signal);
    else proc.kill(signal);
  } catch {
    proc.kill(signal);
  }
}
