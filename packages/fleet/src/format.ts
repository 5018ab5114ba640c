/**
 * How `holdfast fleet` prints its children's logs: `HH:MM:SS.mmm LEVEL [svc#i] msg k=v …` for
 * humans, or pass-through JSON lines (children's own pino lines unchanged; supervisor events
 * and non-JSON output as JSON records) with --json-logs.
 */
import type { FleetEvent, FleetLine } from './fleet-types.js';

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLOR: Record<string, number> = {
  TRACE: 90,
  DEBUG: 90,
  INFO: 32,
  WARN: 33,
  ERROR: 31,
  FATAL: 35,
};
const SERVICE_COLOR: Record<string, number> = {
  ingest: 36,
  reserver: 35,
  'ledger-writer': 34,
  reconciler: 33,
  fleet: 37,
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'v']);
const MAX_FIELDS = 8;

export interface FormatOptions {
  color: boolean;
}

const paint = (on: boolean, code: number | undefined, s: string) =>
  on && code ? `\x1b[${code}m${s}\x1b[0m` : s;

function clock(t: unknown): string {
  const d = typeof t === 'string' || typeof t === 'number' ? new Date(t) : new Date();
  const v = Number.isNaN(d.getTime()) ? new Date() : d;
  return v.toISOString().slice(11, 23);
}

function show(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  else if (v && typeof v === 'object') {
    const err = v as { message?: unknown; type?: unknown };
    s = typeof err.message === 'string' ? JSON.stringify(err.message) : JSON.stringify(v);
  } else s = String(v);
  return s.length > 100 ? `${s.slice(0, 99)}…` : s;
}

function line(
  o: FormatOptions,
  time: unknown,
  level: string,
  service: string,
  name: string,
  msg: string,
  fields: Array<[string, unknown]>,
): string {
  const extra = fields.slice(0, MAX_FIELDS).map(([k, v]) => `${k}=${show(v)}`);
  if (fields.length > MAX_FIELDS) extra.push(`(+${fields.length - MAX_FIELDS})`);
  return [
    paint(o.color, 90, clock(time)),
    paint(o.color, LEVEL_COLOR[level], level.padEnd(5)),
    paint(o.color, SERVICE_COLOR[service], `[${name}]`),
    msg,
    ...extra,
  ].join(' ');
}

export function formatChildLine(l: FleetLine, o: FormatOptions): string {
  const name = l.child.name;
  const r = l.record;
  if (!r) {
    const level = l.stream === 'stderr' ? 'ERROR' : 'INFO';
    return line(o, undefined, level, l.child.service, name, l.line, []);
  }
  const level = LEVELS[Number(r.level)] ?? String(r.level ?? 'INFO').toUpperCase();
  const fields = Object.entries(r).filter(([k]) => !HIDDEN.has(k));
  // The error first: it is what a human looks for.
  fields.sort(([a], [b]) => Number(b === 'err') - Number(a === 'err'));
  return line(o, r.time, level, l.child.service, name, String(r.msg ?? ''), fields);
}

export function jsonChildLine(l: FleetLine): string {
  if (l.record) return l.line;
  return JSON.stringify({
    level: l.stream === 'stderr' ? 50 : 30,
    time: new Date().toISOString(),
    service: l.child.service,
    replica: l.child.replica,
    pid: l.child.pid,
    stream: l.stream,
    msg: l.line,
  });
}

/** A supervisor event as [level, msg, fields]; null for events not worth a line. */
export function describeEvent(e: FleetEvent): [number, string, Record<string, unknown>] | null {
  switch (e.type) {
    case 'spawn':
      return [
        30,
        e.child.restarts ? 'restarted' : 'spawned',
        { child: e.child.name, childPid: e.pid, restarts: e.child.restarts },
      ];
    case 'started':
      return null; // the child's own "started" line says it
    case 'exit': {
      const level = e.child.state === 'stopping' || e.child.state === 'exited' ? 30 : 50;
      return [
        level,
        'child exited',
        {
          child: e.child.name,
          childPid: e.pid,
          code: e.code,
          signal: e.signal,
          uptimeMs: e.uptimeMs,
        },
      ];
    }
    case 'restart-scheduled':
      return [
        40,
        'restarting after backoff',
        { child: e.child.name, delayMs: e.delayMs, attempt: e.attempt },
      ];
    case 'gave-up':
      return [60, 'not restarting', { child: e.child.name, reason: e.reason }];
    case 'stopping':
      return [30, 'stopping fleet (SIGTERM to every child)', { children: e.children }];
    case 'kill':
      return [
        50,
        e.reason === 'deadline' ? 'stop deadline passed: SIGKILL' : 'SIGKILL',
        { child: e.child.name, childPid: e.pid },
      ];
    case 'stopped':
      return [30, 'fleet stopped', { killed: e.killed, durationMs: e.durationMs }];
  }
}

export function formatEvent(e: FleetEvent, o: FormatOptions): string | null {
  const d = describeEvent(e);
  if (!d) return null;
  const [lvl, msg, f] = d;
  return line(
    o,
    undefined,
    LEVELS[lvl]!,
    'fleet',
    'fleet',
    msg,
    Object.entries(f).filter(([, v]) => v !== undefined),
  );
}

export function jsonEvent(e: FleetEvent): string | null {
  const d = describeEvent(e);
  if (!d) return null;
  const [level, msg, f] = d;
  return JSON.stringify({
    level,
    time: new Date().toISOString(),
    service: 'fleet',
    pid: process.pid,
    msg,
    event: e.type,
    ...f,
  });
}
