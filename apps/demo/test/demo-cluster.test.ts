/**
 * `holdfast demo --cluster` as a real process, small crowd: the demo starts its own local Redis
 * Cluster (3 primaries), runs the fleet on 3 shards, one per primary, and stops every node it
 * started. Exit 0, every invariant of the JSON report true, outcomes counted on all 3 shards
 * (adding up to the total), and none of the nodes it reports is running afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_BIN, commandLine, isolatedEnv, type IsolatedEnv } from '@holdfast/testkit';

const { run: runDemo } = commandLine(DEMO_BIN);

const BUYERS = 1500;

/** Whether `pid` still runs as a redis-server (a reused pid of another program does not count). */
function redisServerRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

interface ClusterReport {
  ok: boolean;
  invariants: Record<string, { ok: boolean; detail: string }>;
  oversells: number;
  reconcile: { variance: number };
  outcomes: { total: number };
  crowd: { sent: number };
  target: {
    shards: string[];
    cluster: { nodes: Array<{ port: number; pid: number; shards: string[] }> } | null;
  };
  shards: Array<{ shard: string; node: number | null; skus: number; outcomes: number }>;
}

describe('holdfast demo --cluster', () => {
  let env: IsolatedEnv;
  let out: string;

  beforeAll(async () => {
    env = await isolatedEnv();
    out = await mkdtemp(join(tmpdir(), 'hf-demo-cluster-'));
  });
  afterAll(async () => {
    await env?.cleanup();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('runs on 3 shards of its own Redis Cluster, counts every shard, stops every node', async () => {
    // The test's MySQL database; Redis is the demo's own cluster (REDIS_URL is not used).
    const r = await runDemo(
      [
        '--cluster',
        '--buyers',
        String(BUYERS),
        '--warm-skus',
        '6',
        '--warm-units',
        '100',
        '--hot-units',
        '20',
        '--hold-seconds',
        '2',
        '--rate',
        '1000',
        '--out',
        out,
        '--no-progress',
      ],
      env.env,
      240_000,
    );
    const output = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
    expect(r.code, output).toBe(0);
    expect(r.stdout).toMatch(/Result +✓ every invariant holds/);
    expect(r.stdout).toMatch(/stopped the local Redis Cluster \(pids /);

    const dirs = (await readdir(out)).filter((d) => d.startsWith('demo-'));
    expect(dirs).toHaveLength(1);
    const report = JSON.parse(
      await readFile(join(out, dirs[0]!, 'report.json'), 'utf8'),
    ) as ClusterReport;

    for (const [name, c] of Object.entries(report.invariants))
      expect(c.ok, `${name}: ${c.detail}`).toBe(true);
    expect(report.ok).toBe(true);
    expect(report.oversells).toBe(0);
    expect(report.reconcile.variance).toBe(0);
    expect(report.crowd.sent).toBe(BUYERS);

    // Three shards, each on a primary of its own, each with SKUs and outcomes of its own.
    const cluster = report.target.cluster!;
    expect(cluster.nodes).toHaveLength(3);
    expect(report.target.shards).toHaveLength(3);
    expect(report.shards.map((s) => s.shard)).toEqual(report.target.shards);
    expect(new Set(report.shards.map((s) => s.node)).size).toBe(3);
    for (const s of report.shards) {
      expect(s.skus, s.shard).toBeGreaterThan(0);
      expect(s.outcomes, s.shard).toBeGreaterThan(0);
      expect(cluster.nodes.find((n) => n.port === s.node)?.shards).toContain(s.shard);
    }
    expect(report.shards.reduce((n, s) => n + s.outcomes, 0)).toBe(report.outcomes.total);

    // The demo exited: none of the nodes it started runs any more.
    for (const n of cluster.nodes) expect(redisServerRunning(n.pid), `node :${n.port}`).toBe(false);
  }, 300_000);

  it('refuses --cluster with REDIS_CLUSTER_NODES set (exit 2) and starts nothing', async () => {
    const r = await runDemo(
      ['--cluster', '--buyers', '10', '--out', out, '--no-progress'],
      { ...env.env, REDIS_CLUSTER_NODES: '127.0.0.1:7000' },
      60_000,
    );
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--cluster starts a Redis Cluster of its own/);
  });
});
