/**
 * `holdfast demo` as a real process, small crowd, against the test's own namespace and
 * database: exit 0, every invariant of the JSON report true, variance 0, both report files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, type IsolatedEnv } from '@holdfast/testkit';
import { DEMO_BIN, commandLine } from '@holdfast/testkit';

const { run: runDemo } = commandLine(DEMO_BIN);

const BUYERS = 3000;

describe('holdfast demo', () => {
  let env: IsolatedEnv;
  let out: string;

  beforeAll(async () => {
    env = await isolatedEnv();
    out = await mkdtemp(join(tmpdir(), 'hf-demo-'));
  });
  afterAll(async () => {
    await env?.cleanup();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('runs a crowd end to end: exit 0, every invariant holds, variance 0, report.json + report.html', async () => {
    const r = await runDemo(
      ['--buyers', String(BUYERS), '--out', out, '--no-progress'],
      env.env,
      240_000,
    );
    const output = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
    expect(r.code, output).toBe(0);
    // It honours the test's namespace and database instead of its own defaults.
    expect(r.stdout).toContain(`Redis namespace "${env.namespace}" (from HOLDFAST_NAMESPACE`);
    const db = new URL(env.mysqlUrl).pathname.slice(1);
    expect(r.stdout).toContain(`MySQL database "${db}" (from MYSQL_URL`);
    expect(r.stdout).toMatch(/✓ No oversell/);
    expect(r.stdout).toMatch(/Result +✓ every invariant holds/);

    const dirs = (await readdir(out)).filter((d) => d.startsWith('demo-'));
    expect(dirs).toHaveLength(1);
    const dir = join(out, dirs[0]!);
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as {
      ok: boolean;
      invariants: Record<string, { ok: boolean; title: string; detail: string }>;
      oversells: number;
      reconcile: { variance: number; inFlightEntries: number; runsDuringDemo: number };
      target: { namespace: string; database: string; namespaceDeleted: boolean };
      crowd: { sent: number; followUps: number };
      outcomes: { byStatus: Record<string, number> };
      latency: { overall: { count: number; p50: number; p99: number; p999: number } };
      throughput: { decisionsPerSec: number; peakDecisionsPerSec: number };
      ledger: { drainAfterLastDecisionMs: number | null; changes: number };
      series: { t: number[]; decisionsPerSec: number[]; ledgerLag: number[] };
      hot: { total: number; sold: number };
    };

    const names = Object.keys(report.invariants).sort();
    expect(names).toEqual(
      [
        'conservation',
        'effectivelyOnce',
        'holdsExpire',
        'noOversell',
        'nothingLost',
        'reconcilerVariance',
      ].sort(),
    );
    for (const [name, c] of Object.entries(report.invariants))
      expect(c.ok, `${name}: ${c.detail}`).toBe(true);
    expect(report.ok).toBe(true);
    expect(report.oversells).toBe(0);
    expect(report.reconcile.variance).toBe(0);
    expect(report.reconcile.inFlightEntries).toBe(0);
    expect(report.reconcile.runsDuringDemo).toBeGreaterThan(0);

    expect(report.target).toMatchObject({
      namespace: env.namespace,
      database: db,
      namespaceDeleted: false,
    });
    expect(report.crowd.sent).toBe(BUYERS);
    expect(report.crowd.followUps).toBeGreaterThan(0);
    // The crowd really exercised the gate: holds, sales, expiries and rejections.
    const st = report.outcomes.byStatus;
    for (const k of ['reserved', 'confirmed', 'cancelled', 'expired'])
      expect(st[k], k).toBeGreaterThan(0);
    expect(st['rejected:out_of_stock'] ?? 0).toBeGreaterThan(0);
    expect(report.hot.sold).toBeLessThanOrEqual(report.hot.total);
    expect(report.latency.overall.count).toBe(report.crowd.sent + report.crowd.followUps);
    expect(report.latency.overall.p50).toBeLessThanOrEqual(report.latency.overall.p99);
    expect(report.latency.overall.p99).toBeLessThanOrEqual(report.latency.overall.p999);
    expect(report.throughput.decisionsPerSec).toBeGreaterThan(0);
    expect(report.throughput.peakDecisionsPerSec).toBeGreaterThan(0);
    expect(report.ledger.drainAfterLastDecisionMs).not.toBeNull();
    expect(report.series.t.length).toBeGreaterThan(4);
    expect(report.series.decisionsPerSec.length).toBe(report.series.t.length);

    const html = join(dir, 'report.html');
    expect(existsSync(html)).toBe(true);
    expect((await stat(html)).size).toBeGreaterThan(10_000);
    expect((await stat(join(dir, 'fleet.log'))).size).toBeGreaterThan(0);
  }, 300_000);

  it('refuses a namespace that is already in use, with exit 2 and a clear message', async () => {
    // The first test left its streams and SKUs in env.namespace.
    const r = await runDemo(['--buyers', '10', '--out', out, '--no-progress'], env.env, 60_000);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`namespace "${env.namespace}" is already in use`));
  });

  it('--help exits 0; a bad option exits 2', async () => {
    const [help, bad] = await Promise.all([
      runDemo(['--help'], env.env),
      runDemo(['--buyers', 'lots'], env.env),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--buyers <n>/);
    expect(help.stdout).toMatch(/--hold-seconds <s>/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--buyers/);
  });
});
