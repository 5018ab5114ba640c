/**
 * The supervisor against stand-in services: a fake repository root whose `apps/<svc>/dist/main.js`
 * is a small script that behaves as FAKE_MODE says (start and wait for SIGTERM, crash, reject
 * its configuration, ignore SIGTERM, never start). No Redis, MySQL or build needed; the real
 * services under the supervisor are tested by apps/cli/test/fleet.test.ts and the chaos suite.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FleetConfigError,
  SERVICES,
  startFleet,
  type Fleet,
  type FleetEvent,
  type FleetLine,
  type FleetOptions,
} from '../src/index.js';

const FAKE_SERVICE = `
const mode = process.env.FAKE_MODE || 'ok';
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
if (mode === 'config') {
  process.stderr.write('bad setting\\n');
  process.exit(2);
} else if (mode === 'crash') {
  process.stderr.write('crashing\\n');
  process.exit(1);
} else {
  process.stdout.write('plain text\\n');
  process.stdout.write('[1,2]\\n');
  process.stdout.write('{not json\\n');
  process.stderr.write('to stderr\\n');
  let grandchild;
  if (mode === 'stubborn') {
    process.on('SIGTERM', () => out({ msg: 'ignoring SIGTERM' }));
    grandchild = require('node:child_process').spawn(
      process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' },
    ).pid;
  } else {
    process.on('SIGTERM', () => {
      out({ msg: 'stopping' });
      process.exit(0);
    });
  }
  if (mode !== 'silent') {
    out({
      level: 30,
      msg: 'started',
      metricsPort: Number(process.env.METRICS_PORT || 9101),
      consumer: process.env.CONSUMER_NAME,
      grandchild,
    });
  }
  setInterval(() => {}, 1000);
}
`;

const roots: string[] = [];

/** A repository root with every service "built" as the fake service. */
function fakeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'holdfast-fleet-'));
  roots.push(root);
  for (const s of SERVICES) {
    mkdirSync(join(root, 'apps', s, 'src'), { recursive: true });
    mkdirSync(join(root, 'apps', s, 'dist'), { recursive: true });
    writeFileSync(join(root, 'apps', s, 'dist', 'main.js'), FAKE_SERVICE);
  }
  mkdirSync(join(root, 'packages', 'shared', 'src'), { recursive: true });
  mkdirSync(join(root, 'packages', 'shared', 'dist'), { recursive: true });
  writeFileSync(join(root, 'packages', 'shared', 'dist', 'index.js'), '');
  return root;
}

afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

interface Run {
  fleet: Fleet;
  events: FleetEvent[];
  lines: FleetLine[];
  /** Event types and log messages, in the order the listeners saw them. */
  log: string[];
}

function run(mode: string, opts: FleetOptions = {}): Run {
  const events: FleetEvent[] = [];
  const lines: FleetLine[] = [];
  const log: string[] = [];
  const fleet = startFleet({
    only: ['ingest'],
    root: fakeRoot(),
    stopTimeoutMs: 10_000,
    ...opts,
    env: { METRICS_PORT: undefined, CONSUMER_NAME: undefined, FAKE_MODE: mode, ...opts.env },
    onEvent: (e) => {
      events.push(e);
      log.push('child' in e ? `${e.type} ${e.child.name}` : e.type);
    },
    onLine: (l) => {
      lines.push(l);
      log.push(`line ${l.child.name} ${l.stream} ${l.line}`);
    },
  });
  return { fleet, events, lines, log };
}

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Whether `pid` runs (a zombie, killed but not yet reaped by its new parent, does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

const types = (r: Run) => r.events.map((e) => e.type);

describe('startFleet', { timeout: 60_000 }, () => {
  it('starts, forwards every line (parsed when JSON), and stops in order', async () => {
    const exitListeners = process.listenerCount('exit');
    const r = run('ok');
    expect(process.listenerCount('exit')).toBe(exitListeners + 1);
    const child = r.fleet.children[0]!;
    expect(child).toMatchObject({ name: 'ingest#0', service: 'ingest', replica: 0 });
    expect(child.state).toBe('starting');
    await r.fleet.ready(20_000);
    expect(child.state).toBe('running');
    expect(child.metricsPort).toBe(9101);
    const pid = child.pid!;
    expect(r.events[0]).toMatchObject({ type: 'spawn', pid });
    expect(r.events[1]).toMatchObject({ type: 'started', pid, metricsPort: 9101 });

    await until('stderr line', () => r.lines.some((l) => l.stream === 'stderr'));
    const stdout = r.lines.filter((l) => l.stream === 'stdout');
    expect(stdout.map((l) => [l.line, l.record])).toEqual([
      ['plain text', undefined],
      ['[1,2]', undefined],
      ['{not json', undefined],
      [expect.stringContaining('"started"'), expect.objectContaining({ msg: 'started' })],
    ]);
    // The "started" event comes before the line that announced it.
    const startedAt = r.log.indexOf('started ingest#0');
    expect(r.log[startedAt + 1]).toMatch(/^line ingest#0 stdout \{.*"started"/);

    const stopping = r.fleet.stop();
    expect(r.fleet.stop()).toBe(stopping);
    expect(r.fleet.stopping).toBe(true);
    expect(child.state).toBe('stopping');
    expect(await stopping).toEqual({ killed: 0 });
    expect(await r.fleet.stop()).toEqual({ killed: 0 });
    expect(types(r)).toEqual(['spawn', 'started', 'stopping', 'exit', 'stopped']);
    // Its last line comes before its exit.
    expect(r.log.slice(-3, -1)).toEqual([
      'line ingest#0 stdout {"msg":"stopping"}',
      'exit ingest#0',
    ]);
    expect(r.events[3]).toMatchObject({ type: 'exit', pid, code: 0, signal: null });
    expect(child).toMatchObject({
      state: 'exited',
      proc: undefined,
      pid: undefined,
      metricsPort: undefined,
      lastExit: { code: 0, signal: null },
      restarts: 0,
    });
    expect(process.listenerCount('exit')).toBe(exitListeners);
  });

  it('gives each replica its own consumer name; replicas ≥ 1 a free port', async () => {
    const r = run('ok', { only: ['ingest', 'reserver'], replicas: 2 });
    try {
      await r.fleet.ready(20_000);
      expect(r.fleet.children.map((c) => [c.name, c.metricsPort])).toEqual([
        ['ingest#0', 9101],
        ['ingest#1', undefined],
        ['reserver#0', 9101],
        ['reserver#1', undefined],
      ]);
      const consumers = r.lines
        .filter((l) => l.record?.msg === 'started')
        .map((l) => ({ replica: l.child.replica, consumer: l.record!.consumer }));
      expect(new Set(consumers.map((c) => c.consumer)).size).toBe(4);
      for (const { replica, consumer } of consumers) {
        expect(consumer).toMatch(new RegExp(`-${process.pid}-${replica}$`));
      }
    } finally {
      await r.fleet.stop();
    }
  });

  it('restarts a crashing child with a doubling, capped delay and stops restarting on stop()', async () => {
    const r = run('crash', { backoff: { initialMs: 20, maxMs: 50, resetAfterMs: 60_000 } });
    const child = r.fleet.children[0]!;
    await until(
      '4 restarts scheduled',
      () => types(r).filter((t) => t === 'restart-scheduled').length >= 4,
    );
    const scheduled = r.events.filter((e) => e.type === 'restart-scheduled');
    expect(scheduled.slice(0, 4).map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 20],
      [2, 40],
      [3, 50],
      [4, 50],
    ]);
    expect(types(r).slice(0, 7)).toEqual([
      'spawn',
      'exit',
      'restart-scheduled',
      'spawn',
      'exit',
      'restart-scheduled',
      'spawn',
    ]);
    expect(r.events[1]).toMatchObject({ code: 1, signal: null });
    expect(r.lines[0]).toMatchObject({ stream: 'stderr', line: 'crashing', record: undefined });
    expect(child.restarts).toBeGreaterThanOrEqual(3);
    await until('backoff', () => child.state === 'backoff');
    const spawns = types(r).filter((t) => t === 'spawn').length;
    await r.fleet.stop();
    expect(child.state).toBe('exited');
    await sleep(200);
    expect(types(r).filter((t) => t === 'spawn').length).toBe(spawns);
    expect(types(r).at(-1)).toBe('stopped');
    await expect(r.fleet.ready(10)).rejects.toThrow(
      'fleet not ready after 10 ms: ingest#0 (exited)',
    );
  });

  it('starts the backoff over after a child ran resetAfterMs', async () => {
    const r = run('crash', { backoff: { initialMs: 20, maxMs: 50, resetAfterMs: 0 } });
    try {
      await until(
        '3 restarts scheduled',
        () => types(r).filter((t) => t === 'restart-scheduled').length >= 3,
      );
      const scheduled = r.events.filter((e) => e.type === 'restart-scheduled');
      expect(scheduled.slice(0, 3).map((e) => [e.attempt, e.delayMs])).toEqual([
        [1, 20],
        [1, 20],
        [1, 20],
      ]);
    } finally {
      await r.fleet.stop();
    }
  });

  it('does not restart a child that rejected its configuration (exit 2)', async () => {
    const r = run('config');
    try {
      await until('gave-up', () => types(r).includes('gave-up'));
      expect(types(r)).toEqual(['spawn', 'exit', 'gave-up']);
      expect(r.events[2]).toMatchObject({
        reason: 'configuration error (exit 2): fix the environment and start again',
      });
      expect(r.fleet.children[0]!.state).toBe('failed');
      await expect(r.fleet.ready(50)).rejects.toThrow(
        'fleet not ready after 50 ms: ingest#0 (failed)',
      );
    } finally {
      await r.fleet.stop();
    }
    expect(types(r)).toEqual(['spawn', 'exit', 'gave-up', 'stopping', 'stopped']);
    expect(r.fleet.children[0]!.state).toBe('failed');
  });

  it('ready() names the children that did not start', async () => {
    const r = run('silent', { only: ['ingest', 'reserver'] });
    try {
      await expect(r.fleet.ready(300)).rejects.toThrow(
        'fleet not ready after 300 ms: ingest#0 (starting), reserver#0 (starting)',
      );
    } finally {
      await r.fleet.stop();
    }
  });

  it('stop() SIGKILLs the whole process group of a child still running after the deadline', async () => {
    const r = run('stubborn', { stopTimeoutMs: 300 });
    await r.fleet.ready(20_000);
    const child = r.fleet.children[0]!;
    const pid = child.pid!;
    const started = r.lines.find((l) => l.record?.msg === 'started')!;
    const grandchild = started.record!.grandchild as number;
    expect(alive(grandchild)).toBe(true);
    expect(await r.fleet.stop()).toEqual({ killed: 1 });
    expect(types(r)).toEqual(['spawn', 'started', 'stopping', 'kill', 'exit', 'stopped']);
    expect(r.events[3]).toMatchObject({ type: 'kill', pid, reason: 'deadline' });
    expect(r.events[4]).toMatchObject({ type: 'exit', code: null, signal: 'SIGKILL' });
    expect(r.events[5]).toMatchObject({ type: 'stopped', killed: 1 });
    expect(child.state).toBe('exited');
    await until('the grandchild to die', () => !alive(grandchild), 5_000);
  });

  it('kill() SIGKILLs every child at once and restarts none', async () => {
    const exitListeners = process.listenerCount('exit');
    const r = run('stubborn', { only: ['ingest', 'reserver'] });
    await r.fleet.ready(20_000);
    const grandchildren = r.lines
      .filter((l) => l.record?.msg === 'started')
      .map((l) => l.record!.grandchild as number);
    r.fleet.kill();
    expect(r.fleet.stopping).toBe(true);
    expect(
      r.events.filter((e) => e.type === 'kill').map((e) => e.type === 'kill' && e.reason),
    ).toEqual(['kill', 'kill']);
    await until('both exits', () => types(r).filter((t) => t === 'exit').length === 2);
    expect(r.fleet.children.map((c) => c.state)).toEqual(['exited', 'exited']);
    // Still registered: kill() is for a supervisor about to exit.
    expect(process.listenerCount('exit')).toBe(exitListeners + 1);
    expect(await r.fleet.stop()).toEqual({ killed: 0 });
    expect(process.listenerCount('exit')).toBe(exitListeners);
    expect(types(r).filter((t) => t === 'spawn')).toHaveLength(2);
    for (const g of grandchildren) await until('a grandchild to die', () => !alive(g), 5_000);
  });

  it('treats a failed spawn as a crash', async () => {
    const r = run('ok', {
      nodePath: '/nonexistent/node',
      backoff: { initialMs: 10_000 },
    });
    try {
      await until('restart-scheduled', () => types(r).includes('restart-scheduled'));
      expect(types(r)).toEqual(['spawn', 'exit', 'restart-scheduled']);
      expect(r.events[1]).toMatchObject({ code: null, signal: null });
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatchObject({ stream: 'stderr', record: undefined });
      expect(r.lines[0]!.line).toMatch(/^spawn failed: .*ENOENT/);
      expect(r.fleet.children[0]!.state).toBe('backoff');
    } finally {
      await r.fleet.stop();
    }
    expect(types(r)).toEqual(['spawn', 'exit', 'restart-scheduled', 'stopping', 'stopped']);
  });

  it('survives listeners that throw', async () => {
    let calls = 0;
    const fleet = startFleet({
      only: ['ingest'],
      root: fakeRoot(),
      env: { METRICS_PORT: undefined, FAKE_MODE: 'ok' },
      onEvent: () => {
        calls++;
        throw new Error('listener bug');
      },
      onLine: () => {
        calls++;
        throw new Error('listener bug');
      },
    });
    await fleet.ready(20_000);
    expect(await fleet.stop()).toEqual({ killed: 0 });
    expect(calls).toBeGreaterThan(5);
  });

  it('refuses a bad configuration before starting anything', () => {
    const exitListeners = process.listenerCount('exit');
    expect(() => startFleet({ replicas: 0, root: fakeRoot() })).toThrow(FleetConfigError);
    expect(() => startFleet({ replicas: 1.5, root: fakeRoot() })).toThrow(
      'replicas must be an integer 1–64, got 1.5',
    );
    expect(() =>
      startFleet({ only: ['ingest', 'reserver'], env: { METRICS_PORT: '9999' }, root: fakeRoot() }),
    ).toThrow(/METRICS_PORT=9999 would be shared by 2 services/);
    const unbuilt = mkdtempSync(join(tmpdir(), 'holdfast-fleet-'));
    roots.push(unbuilt);
    expect(() => startFleet({ root: unbuilt, env: { METRICS_PORT: undefined } })).toThrow(
      'ingest is not built: run `pnpm build`',
    );
    expect(process.listenerCount('exit')).toBe(exitListeners);
  });
});
