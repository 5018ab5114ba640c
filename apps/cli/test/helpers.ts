/**
 * Runs the real `holdfast` binary (bin/holdfast.mjs) as a child process with a test's
 * environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
// Brings the vitest ProvidedContext typing (redisUrl, mysqlUrl) into this package's tsc run.
import type {} from '../../../packages/shared/src/testing/global-setup.js';

export const BIN = fileURLToPath(new URL('../bin/holdfast.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI run: the test's, over a process.env stripped of holdfast settings. */
export function cliEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(REDIS_URL|MYSQL_URL|HOLDFAST_|METRICS_PORT|CONSUMER_NAME)/.test(k)) continue;
    base[k] = v;
  }
  return { ...base, NO_COLOR: '1', ...env };
}

export function spawnCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliResult> {
  const proc = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(
        new Error(
          `holdfast ${args.join(' ')} did not finish in ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`,
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
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep into CLI JSON
export function json<T = any>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/** Collects a long-running CLI's stdout lines (parsed when JSON). */
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
