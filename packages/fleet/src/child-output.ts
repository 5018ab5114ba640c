/**
 * What one supervised child prints and how it ends, as the supervisor needs it: its stdout and
 * stderr as lines, each with its JSON log record when it is one; its "started" record (and the
 * metrics port in it); and its end, reported once it exited *and* both pipes closed.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { FleetLine } from './fleet-types.js';

type Stream = FleetLine['stream'];

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildOutputListener {
  /** It logged "started" (called before line() for that line). */
  started(metricsPort: number | undefined): void;
  /** Every line of stdout and stderr. */
  line(stream: Stream, line: string, record: Record<string, unknown> | undefined): void;
  /** It exited and its pipes closed, or it could not be spawned (code and signal null). Once. */
  ended(exit: ChildExit): void;
}

/** Follows `proc`'s output and end (spawned with stdout and stderr piped). */
export function followChild(proc: ChildProcess, listener: ChildOutputListener): void {
  const onLine = (stream: Stream) => (line: string) => {
    const record = parseRecord(line);
    if (record?.msg === 'started') listener.started(metricsPortOf(record));
    listener.line(stream, line, record);
  };
  // 'close' (not 'exit') fires after both pipes drained, so the last log lines come first.
  let outClosed = false;
  let errClosed = false;
  let exitInfo: ChildExit | undefined;
  let ended = false;
  const finish = () => {
    if (!outClosed || !errClosed || !exitInfo || ended) return;
    ended = true;
    listener.ended(exitInfo);
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

/** The JSON log record on a line (an object), or undefined. */
export function parseRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return undefined;
}

/** The port a "started" record announces (undefined unless a positive integer). */
function metricsPortOf(record: Record<string, unknown>): number | undefined {
  const p = Number(record.metricsPort);
  return Number.isInteger(p) && p > 0 ? p : undefined;
}
