/**
 * One holdfast service as a child process, for end-to-end tests and the benchmark's probes:
 * it gets its namespace/database through its environment and METRICS_PORT=0; the caller
 * learns the port from the service's "started" log line, which `startService` waits for.
 * (The supervisor, ./supervisor.ts, runs a whole fleet with restarts; this runs one process
 * and leaves its fate to the caller.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

import { REPO_ROOT, serviceNodeArgs, type ServiceName } from '@holdfast/shared';

/**
 * Every child still running. A test that fails half-way (say one of several parallel starts
 * throws, so its afterAll never learns of the others) must not leave services behind to load
 * the machine for the next suites: leftovers.setup.ts kills what is left after each test file.
 */
const live = new Set<ChildProcess>();

/** SIGKILLs every service this process started that is still running. */
export function killLeftovers(): number {
  const n = live.size;
  for (const p of live) p.kill('SIGKILL');
  live.clear();
  return n;
}

export interface RunningService {
  name: ServiceName;
  proc: ChildProcess;
  port: number;
  /** Log lines (parsed JSON) seen so far. */
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  opts: { startTimeoutMs?: number } = {},
): Promise<RunningService> {
  // The compiled service, as in production (`pnpm test` builds first; a stale build throws).
  const proc = spawn(process.execPath, serviceNodeArgs(name), {
    cwd: REPO_ROOT,
    env: { ...process.env, METRICS_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start in time; stderr: ${stderr}`)),
      opts.startTimeoutMs ?? 30_000,
    );
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        logs.push(rec);
        if (logs.length > 5_000) logs.splice(0, 1_000);
        if (rec.msg === 'started') {
          clearTimeout(timer);
          resolve(Number(rec.metricsPort));
        }
      } catch {
        /* not JSON: ignore */
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before starting; stderr: ${stderr}`));
    });
  });
  return {
    name,
    proc,
    port,
    logs,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

/** Stops every service (SIGTERM), tolerating ones already gone. */
export async function stopAll(services: RunningService[]): Promise<void> {
  await Promise.allSettled(services.map((s) => s.kill('SIGTERM')));
}
