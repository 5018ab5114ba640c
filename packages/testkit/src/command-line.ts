/**
 * Runs a real command-line program of the repository (`holdfast`, the demo) as a child
 * process with a test's environment, and reads what it printed.
 *
 *   const holdfast = commandLine(HOLDFAST_BIN);
 *   const r = await holdfast.run(['stock', 'show', '--json'], env.env);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { REPO_ROOT } from '@holdfast/shared';

/** The operators' CLI, `holdfast` (apps/cli). */
export const HOLDFAST_BIN = join(REPO_ROOT, 'apps', 'cli', 'bin', 'holdfast.mjs');
/** The flash-sale demo on its own (apps/demo); `holdfast demo` runs the same. */
export const DEMO_BIN = join(REPO_ROOT, 'apps', 'demo', 'bin', 'holdfast-demo.mjs');

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of a command run: the test's, over a process.env stripped of holdfast settings. */
export function commandEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(REDIS_URL|MYSQL_URL|HOLDFAST_|METRICS_PORT|CONSUMER_NAME)/.test(k)) continue;
    base[k] = v;
  }
  return { ...base, NO_COLOR: '1', ...env };
}

export function spawnCommand(
  bin: string,
  args: string[],
  env: Record<string, string>,
): ChildProcess {
  return spawn(process.execPath, [bin, ...args], {
    env: commandEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function runCommand(
  bin: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CommandResult> {
  const proc = spawnCommand(bin, args, env);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(
        new Error(
          `${bin} ${args.join(' ')} did not finish in ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Parses the JSON a --json run printed (and fails with its output when it isn't JSON). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep into JSON output
export function json<T = any>(r: CommandResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/** Collects a long-running command's stdout lines (parsed when JSON). */
export function collectLines(proc: ChildProcess) {
  const lines: Array<{ raw: string; rec: Record<string, unknown> | undefined }> = [];
  let stderr = '';
  createInterface({ input: proc.stdout! }).on('line', (raw) => {
    let rec: Record<string, unknown> | undefined;
    try {
      rec = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      rec = undefined;
    }
    lines.push({ raw, rec });
  });
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    lines,
    get stderr() {
      return stderr;
    },
  };
}

/** `runCommand` / `spawnCommand` bound to one program. */
export function commandLine(bin: string) {
  return {
    run: (args: string[], env: Record<string, string>, timeoutMs?: number) =>
      runCommand(bin, args, env, timeoutMs),
    spawn: (args: string[], env: Record<string, string>) => spawnCommand(bin, args, env),
  };
}
