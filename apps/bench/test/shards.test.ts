/**
 * The benchmark's shard comparison in its quick form (--shards only, scale 0.01): A on 1 shard
 * then on 3 shards of a local Redis Cluster it starts and stops itself. Checks the report's
 * `shards` section and its markdown table, that both runs decided every buyer with no oversell
 * and variance 0, that with 3 shards every node served a shard and spent CPU, and that no node
 * of the cluster runs afterwards — never a timing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type {} from '@holdfast/testkit/global-setup';
import { runBench } from '../src/index.js';

const out = mkdtempSync(join(tmpdir(), 'holdfast-bench-shards-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

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

describe('holdfast bench --shards only (quick)', () => {
  it('compares 1 shard with 3 shards in one run and stops its cluster', async () => {
    const { code, report } = await runBench(
      [
        '--shards',
        'only',
        '--scale',
        '0.01',
        '--out',
        out,
        '--redis-url',
        inject('redisUrl'),
        '--mysql-url',
        inject('mysqlUrl'),
      ],
      { quiet: true },
    );
    const r = report!;
    expect(r.failures).toEqual([]);
    expect(code).toBe(0);
    expect(r.scenarios).toEqual([]);
    const c = r.shards!;
    expect(c.scenario.id).toBe(2);
    expect(c.cluster!.nodes).toHaveLength(3);
    expect(c.runs.map((x) => x.shards)).toEqual([1, 3]);
    expect(c.runs[1]!.shardNames).toHaveLength(3);
    // One shard per primary in the 3-shard run.
    expect(c.cluster!.nodes.map((n) => n.shards.length)).toEqual([1, 1, 1]);

    for (const run of c.runs) {
      expect(run.error).toBeUndefined();
      expect(run.decisions).toBe(c.scenario.params.buyers);
      expect(run.decisionsPerSec).toBeGreaterThan(0);
      expect(run.result.oversells).toBe(0);
      expect(run.result.variance).toBe(0);
      expect(run.result.violations).toEqual([]);
      expect(run.cpuUsPerDecision.total).toEqual(expect.any(Number));
      for (const svc of ['ingest', 'reserver', 'ledger-writer'])
        expect(run.cpuUsPerDecision.byProcess[svc], svc).toEqual(expect.any(Number));
      expect(run.redisNodes).toHaveLength(3);
      for (const n of run.redisNodes) expect(n.cpuSeconds, n.name).toEqual(expect.any(Number));
    }
    // With 3 shards every node serves one; with 1 shard only one node does.
    expect(c.runs[0]!.redisNodes.filter((n) => n.name.includes('(shard')).length).toBe(1);
    expect(c.runs[1]!.redisNodes.every((n) => n.name.includes('(shard'))).toBe(true);
    expect(c.ratios.decisionsPerSec).toEqual(expect.any(Number));
    expect(c.ratios.cpuUsPerDecision).toEqual(expect.any(Number));

    const fromDisk = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as typeof r;
    expect(fromDisk.shards).toEqual(JSON.parse(JSON.stringify(c)));
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/## 1 shard vs 3 shards/);
    expect(md).toMatch(/\| decisions\/s \|/);

    for (const n of c.cluster!.nodes) expect(redisServerRunning(n.pid), `:${n.port}`).toBe(false);
  });
});
