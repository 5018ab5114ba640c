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
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { REPO_ROOT, SERVICES, serviceNodeArgs, type ServiceName } from '@holdfast/shared';

export { REPO_ROOT, SERVICES, type ServiceName };

export const DEFAULT_METRICS_PORTS: Record<ServiceName, number> = {
  ingest: 9101,
  reserver: 9102,
  'ledger-writer': 9103,
  reconciler: 9104,
};

/** Exit code of a service that rejected its configuration: restarting would not help. */
const CONFIG_ERROR_EXIT = 2;

export type ChildState = 'starting' | 'running' | 'backoff' | 'stopping' | 'exited' | 'failed';

export interface FleetChild {
  readonly service: ServiceName;
  readonly replica: number;
  /** `<service>#<replica>`, the prefix of its log lines. */
  readonly name: string;
  state: ChildState;
  /** Current process (undefined while waiting to restart). */
  proc: ChildProcess | undefined;
  pid: number | undefined;
  /** From the service's "started" log line; undefined until then. */
  metricsPort: number | undefined;
  /** Times it was restarted after a crash. */
  restarts: number;
  startedAt: number;
  lastExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

export interface FleetLine {
  child: FleetChild;
  stream: 'stdout' | 'stderr';
  line: string;
  /** The parsed JSON log record, when the line is one. */
  record: Record<string, unknown> | undefined;
}

export type FleetEvent =
  | { type: 'spawn'; child: FleetChild; pid: number }
  | { type: 'started'; child: FleetChild; pid: number; metricsPort: number | undefined }
  | {
      type: 'exit';
      child: FleetChild;
      pid: number;
      code: number | null;
      signal: NodeJS.Signals | null;
      uptimeMs: number;
    }
  | { type: 'restart-scheduled'; child: FleetChild; delayMs: number; attempt: number }
  | { type: 'gave-up'; child: FleetChild; reason: string }
  | { type: 'stopping'; children: number }
  | { type: 'kill'; child: FleetChild; pid: number; reason: 'deadline' | 'kill' }
  | { type: 'stopped'; killed: number; durationMs: number };

export interface BackoffOptions {
  /** First restart delay (default 1 000 ms); doubles per consecutive crash. */
  initialMs?: number;
  /** Cap (default 30 000 ms). */
  maxMs?: number;
  /** A child that ran this long before crashing starts again from initialMs (default 60 000 ms). */
  resetAfterMs?: number;
}

export interface FleetOptions {
  /** Replicas per service (default 1). */
  replicas?: number;
  /** Services to run (default all four). */
  only?: readonly ServiceName[];
  /** Environment for the children, over process.env (an undefined value removes a variable). */
  env?: Record<string, string | undefined>;
  /** Every output line of every child. */
  onLine?(line: FleetLine): void;
  /** Lifecycle events (spawn, started, exit, restart, stop). */
  onEvent?(event: FleetEvent): void;
  /** stop(): SIGTERM, then SIGKILL whatever still runs after this long (default 20 000 ms). */
  stopTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Repository root the services are run from (default: this checkout). */
  root?: string;
  /** Node.js binary (default: the current one). */
  nodePath?: string;
}

export interface Fleet {
  readonly children: readonly FleetChild[];
  /** Resolves once every child logged "started" (rejects after timeoutMs, default 60 s). */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM to every child, wait (stopTimeoutMs), SIGKILL stragglers. Safe to call twice. */
  stop(): Promise<{ killed: number }>;
  /** SIGKILL every child at once and stop supervising (second Ctrl-C). */
  kill(): void;
  readonly stopping: boolean;
}

export class FleetConfigError extends Error {
  override name = 'FleetConfigError';
}

export function parseServices(list: string): ServiceName[] {
  const out: ServiceName[] = [];
  for (const raw of list.split(',')) {
    const s = raw.trim();
    if (!s) continue;
    if (!(SERVICES as readonly string[]).includes(s)) {
      throw new FleetConfigError(
        `unknown service ${JSON.stringify(s)} (services: ${SERVICES.join(', ')})`,
      );
    }
    if (!out.includes(s as ServiceName)) out.push(s as ServiceName);
  }
  if (!out.length) throw new FleetConfigError('no service selected');
  return out;
}

/** The environment of one child. */
export function childEnv(
  base: Record<string, string | undefined>,
  service: ServiceName,
  replica: number,
  fleetId: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  if (replica > 0) env.METRICS_PORT = '0';
  // Stable per replica slot for the life of this fleet: a restarted child recovers its own
  // pending entries immediately. Two replicas must never share a name.
  const configured = env.CONSUMER_NAME;
  const name = configured ? `${configured}-${replica}` : `${service}-${fleetId}-${replica}`;
  env.CONSUMER_NAME = name.replace(/[^\x21-\x7e]/g, '_').slice(-64);
  return env;
}

export function startFleet(opts: FleetOptions = {}): Fleet {
  const replicas = opts.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 64) {
    throw new FleetConfigError(`replicas must be an integer 1–64, got ${replicas}`);
  }
  const only = opts.only?.length ? [...opts.only] : [...SERVICES];
  const base: Record<string, string | undefined> = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete base[k];
  const port = base.METRICS_PORT;
  if (port !== undefined && port.trim() !== '0' && only.length > 1) {
    throw new FleetConfigError(
      `METRICS_PORT=${port} would be shared by ${only.length} services: unset it (each service ` +
        'keeps its default port) or set it to 0 (free ports)',
    );
  }
  const root = opts.root ?? REPO_ROOT;
  const node = opts.nodePath ?? process.execPath;
  // Compiled entries (`pnpm build`); a missing or stale build fails here, before any spawn.
  const nodeArgs = new Map(only.map((s) => [s, serviceNodeArgs(s, root)]));
  const initialMs = opts.backoff?.initialMs ?? 1_000;
  const maxMs = opts.backoff?.maxMs ?? 30_000;
  const resetAfterMs = opts.backoff?.resetAfterMs ?? 60_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 20_000;
  const fleetId = `${hostname().split('.')[0]}-${process.pid}`;
  const emit = (e: FleetEvent) => {
    try {
      opts.onEvent?.(e);
    } catch {
      /* a listener's bug must not take the supervisor down */
    }
  };

  let stopping = false;
  const timers = new Map<FleetChild, NodeJS.Timeout>();
  const crashes = new Map<FleetChild, number>();
  const exits = new Map<FleetChild, Promise<void>>();
  const readyWaiters = new Set<() => void>();

  const children: FleetChild[] = [];
  for (const service of only) {
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

  const allRunning = () => children.every((c) => c.state === 'running');

  function spawnChild(child: FleetChild): void {
    if (stopping) return;
    const env = childEnv(base, child.service, child.replica, fleetId);
    const proc = spawn(node, nodeArgs.get(child.service)!, {
      cwd: root,
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
    exits.set(child, new Promise<void>((r) => (done = r)));
    emit({ type: 'spawn', child, pid });

    const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
      let record: Record<string, unknown> | undefined;
      if (line.startsWith('{')) {
        try {
          const parsed: unknown = JSON.parse(line);
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
            record = parsed as Record<string, unknown>;
        } catch {
          /* not JSON */
        }
      }
      if (record?.msg === 'started' && child.proc === proc) {
        child.state = stopping ? 'stopping' : 'running';
        const p = Number(record.metricsPort);
        child.metricsPort = Number.isInteger(p) && p > 0 ? p : undefined;
        emit({ type: 'started', child, pid, metricsPort: child.metricsPort });
        if (allRunning()) for (const w of readyWaiters) w();
      }
      try {
        opts.onLine?.({ child, stream, line, record });
      } catch {
        /* ignore listener errors */
      }
    };
    // 'close' (not 'exit') fires after both pipes drained, so the last log lines come first.
    let outClosed = false;
    let errClosed = false;
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const finish = () => {
      if (!outClosed || !errClosed || !exitInfo) return;
      onExit(child, proc, exitInfo.code, exitInfo.signal);
      done();
    };
    createInterface({ input: proc.stdout! })
      .on('line', onLine('stdout'))
      .on('close', () => {
        outClosed = true;
        finish();
      });
    createInterface({ input: proc.stderr! })
      .on('line', onLine('stderr'))
      .on('close', () => {
        errClosed = true;
        finish();
      });
    proc.on('error', (err) => {
      // spawn failure (e.g. ENOENT): treated like an immediate crash.
      onLine('stderr')(`spawn failed: ${err.message}`);
      if (!exitInfo) {
        exitInfo = { code: null, signal: null };
        outClosed = errClosed = true;
        finish();
      }
    });
    proc.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      finish();
    });
  }

  function onExit(
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
    emit({ type: 'exit', child, pid: proc.pid ?? -1, code, signal, uptimeMs });
    if (stopping) {
      child.state = 'exited';
      return;
    }
    if (code === CONFIG_ERROR_EXIT) {
      child.state = 'failed';
      emit({
        type: 'gave-up',
        child,
        reason: 'configuration error (exit 2): fix the environment and start again',
      });
      return;
    }
    const n = uptimeMs >= resetAfterMs ? 1 : (crashes.get(child) ?? 0) + 1;
    crashes.set(child, n);
    const delayMs = restartDelay(n, initialMs, maxMs);
    child.state = 'backoff';
    emit({ type: 'restart-scheduled', child, delayMs, attempt: n });
    const t = setTimeout(() => {
      timers.delete(child);
      if (stopping) return;
      child.restarts++;
      spawnChild(child);
    }, delayMs);
    timers.set(child, t);
  }

  // Last line of defence: if this process exits without stop(), take the children with it.
  const onProcessExit = () => {
    for (const c of children) if (c.proc) killGroup(c.proc, 'SIGKILL');
  };
  process.on('exit', onProcessExit);

  for (const c of children) spawnChild(c);

  let stopped: Promise<{ killed: number }> | undefined;

  const fleet: Fleet = {
    children,
    get stopping() {
      return stopping;
    },
    ready(timeoutMs = 60_000) {
      if (allRunning()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = () => {
          clearTimeout(timer);
          readyWaiters.delete(waiter);
          resolve();
        };
        const timer = setTimeout(() => {
          readyWaiters.delete(waiter);
          const late = children
            .filter((c) => c.state !== 'running')
            .map((c) => `${c.name} (${c.state})`);
          reject(new Error(`fleet not ready after ${timeoutMs} ms: ${late.join(', ')}`));
        }, timeoutMs);
        readyWaiters.add(waiter);
      });
    },
    stop() {
      stopped ??= (async () => {
        const t0 = Date.now();
        stopping = true;
        for (const t of timers.values()) clearTimeout(t);
        timers.clear();
        const live = children.filter((c) => c.proc);
        emit({ type: 'stopping', children: live.length });
        for (const c of children) {
          if (!c.proc) {
            if (c.state === 'backoff' || c.state === 'starting') c.state = 'exited';
            continue;
          }
          c.state = 'stopping';
          c.proc.kill('SIGTERM');
        }
        const waitAll = Promise.all(live.map((c) => exits.get(c) ?? Promise.resolve()));
        let deadline: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          waitAll.then(() => false),
          new Promise<boolean>((r) => (deadline = setTimeout(() => r(true), stopTimeoutMs))),
        ]);
        clearTimeout(deadline);
        let killed = 0;
        if (timedOut) {
          for (const c of children) {
            if (!c.proc) continue;
            killed++;
            emit({ type: 'kill', child: c, pid: c.pid ?? -1, reason: 'deadline' });
            killGroup(c.proc, 'SIGKILL');
          }
          await waitAll;
        }
        process.off('exit', onProcessExit);
        emit({ type: 'stopped', killed, durationMs: Date.now() - t0 });
        return { killed };
      })();
      return stopped;
    },
    kill() {
      stopping = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      for (const c of children) {
        if (!c.proc) continue;
        emit({ type: 'kill', child: c, pid: c.pid ?? -1, reason: 'kill' });
        killGroup(c.proc, 'SIGKILL');
      }
    },
  };
  return fleet;
}

/** Delay before the n-th consecutive restart (n ≥ 1): initial, doubling, capped. */
export function restartDelay(n: number, initialMs = 1_000, maxMs = 30_000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(n, 1) - 1, 30));
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
