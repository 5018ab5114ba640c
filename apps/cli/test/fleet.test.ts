/**
 * `holdfast fleet` as a real process: children come up healthy, a SIGKILLed child is restarted,
 * SIGTERM stops everything within the deadline and exits 0. Plus the supervisor API's refusal
 * of a child that rejects its configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';
import { restartDelay, startFleet, type FleetEvent } from '@holdfast/fleet';
import { HOLDFAST_BIN, collectLines, commandLine } from '@holdfast/testkit';

const { run: runCli, spawn: spawnCli } = commandLine(HOLDFAST_BIN);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function healthy(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return res.status === 200;
}

describe('holdfast fleet', () => {
  let env: IsolatedEnv;
  beforeAll(async () => {
    env = await isolatedEnv({ mysql: false });
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('runs, restarts a killed child, and stops cleanly on SIGTERM', async () => {
    const proc = spawnCli(
      ['fleet', '--replicas', '1', '--only', 'ingest,reserver', '--json-logs'],
      {
        ...env.env,
        METRICS_PORT: '0',
        BLOCK_MS: '100',
      },
    );
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      proc.on('exit', (code, signal) => r({ code, signal })),
    );
    const out = collectLines(proc);
    const seenPids = new Set<number>();
    try {
      // The supervisor's "spawned"/"restarted" events name each child's pid; the child's own
      // "started" line (pass-through JSON) carries its metrics port.
      const current = (child: string) => {
        let pid: number | undefined;
        for (const l of out.lines) {
          if (
            l.rec?.service === 'fleet' &&
            l.rec.child === child &&
            (l.rec.msg === 'spawned' || l.rec.msg === 'restarted')
          ) {
            pid = l.rec.childPid as number;
          }
        }
        return pid;
      };
      const startedPort = (pid: number) =>
        out.lines.find((l) => l.rec?.msg === 'started' && l.rec.pid === pid)?.rec?.metricsPort as
          number | undefined;
      const up = async (child: string) => {
        const pid = current(child);
        if (!pid) return undefined;
        const port = startedPort(pid);
        if (!port || !(await healthy(port))) return undefined;
        seenPids.add(pid);
        return { pid, port };
      };

      const what = () =>
        `children healthy; stderr: ${out.stderr}; last lines: ${out.lines
          .slice(-5)
          .map((l) => l.raw)
          .join('\n')}`;
      const ingest = await waitFor(() => up('ingest#0'), { timeoutMs: 60_000, what: what() });
      const reserver = await waitFor(() => up('reserver#0'), { timeoutMs: 60_000, what: what() });
      expect(ingest.port).not.toBe(reserver.port);
      // Every line is JSON with --json-logs.
      expect(out.lines.every((l) => l.rec)).toBe(true);

      process.kill(ingest.pid, 'SIGKILL');
      await waitFor(
        () =>
          out.lines.some(
            (l) =>
              l.rec?.msg === 'child exited' &&
              l.rec.childPid === ingest.pid &&
              l.rec.signal === 'SIGKILL',
          ),
        { what: 'the supervisor to notice the kill' },
      );
      const restarted = await waitFor(
        async () => {
          const u = await up('ingest#0');
          return u && u.pid !== ingest.pid ? u : undefined;
        },
        { timeoutMs: 60_000, what: 'ingest#0 restarted and healthy' },
      );
      expect(
        out.lines.some(
          (l) =>
            l.rec?.msg === 'restarting after backoff' &&
            l.rec.child === 'ingest#0' &&
            l.rec.delayMs === 1000,
        ),
      ).toBe(true);
      expect(alive(reserver.pid)).toBe(true);

      const t0 = Date.now();
      proc.kill('SIGTERM');
      const res = await exited;
      expect(res).toEqual({ code: 0, signal: null });
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(alive(restarted.pid)).toBe(false);
      expect(alive(reserver.pid)).toBe(false);
      const stopped = out.lines.find((l) => l.rec?.msg === 'fleet stopped');
      expect(stopped?.rec?.killed).toBe(0);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      for (const pid of seenPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('pretty logs are prefixed with [svc#i]', async () => {
    const proc = spawnCli(['fleet', '--only', 'ingest'], { ...env.env, METRICS_PORT: '0' });
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    const out = collectLines(proc);
    try {
      const line = await waitFor(
        () => out.lines.find((l) => /\[ingest#0\] started metricsPort=\d+/.test(l.raw)),
        {
          timeoutMs: 60_000,
          what: `a pretty "started" line; stderr: ${out.stderr}`,
        },
      );
      expect(line.raw).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[ingest#0\] started/);
      proc.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });

  it('rejects a shared METRICS_PORT and bad flags with exit 2', async () => {
    const [a, b, c] = await Promise.all([
      runCli(['fleet', '--only', 'ingest,reserver'], { ...env.env, METRICS_PORT: '9999' }),
      runCli(['fleet', '--only', 'ingest,nope'], env.env),
      runCli(['fleet', '--replicas', '0'], env.env),
    ]);
    expect([a.code, b.code, c.code]).toEqual([2, 2, 2]);
    expect(a.stderr).toMatch(/METRICS_PORT/);
    expect(b.stderr).toMatch(/unknown service "nope"/);
  });

  it('startFleet: a child that rejects its configuration is not restarted', async () => {
    const events: FleetEvent[] = [];
    const fleet = startFleet({
      only: ['ingest'],
      env: { ...env.env, METRICS_PORT: '0', BATCH_SIZE: 'lots' },
      onEvent: (e) => events.push(e),
    });
    try {
      await waitFor(() => events.some((e) => e.type === 'gave-up'), { what: 'gave-up' });
      expect(fleet.children[0]!.state).toBe('failed');
      expect(events.filter((e) => e.type === 'spawn')).toHaveLength(1);
      await expect(fleet.ready(100)).rejects.toThrow(/ingest#0 \(failed\)/);
    } finally {
      await fleet.stop();
    }
  });

  it('startFleet: stop() SIGKILLs children still running after the deadline', async () => {
    const events: FleetEvent[] = [];
    const fleet = startFleet({
      only: ['ingest'],
      env: { ...env.env, METRICS_PORT: '0' },
      stopTimeoutMs: 1,
      onEvent: (e) => events.push(e),
    });
    await fleet.ready(60_000);
    const pid = fleet.children[0]!.pid!;
    const res = await fleet.stop();
    expect(res.killed).toBe(1);
    expect(events.some((e) => e.type === 'kill' && e.reason === 'deadline')).toBe(true);
    expect(alive(pid)).toBe(false);
    expect(fleet.children[0]!.state).toBe('exited');
  });

  it('restart backoff: 1 s doubling to a 30 s cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => restartDelay(n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });
});
