/**
 * Smoke test of the benchmark: a tiny run (scale 0.01, scenarios 1 and 3, all of A/B/C)
 * against the test servers. Checks the report's shape and that nothing oversold — never a
 * timing (the figures depend on the machine and on whatever else runs on it).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
// Brings the vitest ProvidedContext typing (redisUrl, mysqlUrl) into this package's tsc run.
import type {} from '@holdfast/testkit/global-setup';
import { runBench, type BenchReport } from '../src/index.js';

const out = mkdtempSync(join(tmpdir(), 'holdfast-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('holdfast bench (smoke)', () => {
  it('runs A, B and C on scenarios 1 and 3 and writes a well-formed report', async () => {
    const { code, report } = await runBench(
      [
        '--scale',
        '0.01',
        '--scenario',
        '1,3',
        '--only',
        'A,B,C',
        '--out',
        out,
        '--redis-url',
        inject('redisUrl'),
        '--mysql-url',
        inject('mysqlUrl'),
        // The shard comparison has a test of its own (shards.test.ts).
        '--shards',
        'off',
      ],
      { quiet: true },
    );
    expect(report).toBeDefined();
    const fromDisk = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as BenchReport;
    expect(fromDisk).toEqual(JSON.parse(JSON.stringify(report)));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/## Design targets/);

    const r = report!;
    expect(r.version).toBe(1);
    expect(r.failures).toEqual([]);
    expect(r.status).toBe('PASSED');
    expect(code).toBe(0);
    expect(r.load).toMatchObject({ load1: { min: expect.any(Number), max: expect.any(Number) } });
    expect(r.scenarios.map((s) => s.id)).toEqual([1, 3]);

    for (const s of r.scenarios) {
      const variants = s.runs.map((x) => `${x.system}/${x.variant}`).sort();
      expect(variants).toEqual(
        [
          'A/fleet',
          'A/fleet@80%',
          'B/conditional-update',
          'B/select-for-update',
          'C/lua-pipeline',
        ].sort(),
      );
      for (const run of s.runs) {
        expect(run.error).toBeUndefined();
        expect(run.oversells).toBe(0);
        expect(run.violations).toEqual([]);
        expect(run.decisions).toBe(s.params.buyers);
        expect(run.accepted + run.rejected).toBe(run.decisions);
        expect(run.decisionsPerSec).toBeGreaterThan(0);
        expect(run.latencyMs.count).toBe(run.decisions);
        expect(run.latencyMs.p50).toEqual(expect.any(Number));
        expect(run.latencyMs.p99).toEqual(expect.any(Number));
        expect(run.latencyMs.p999).toEqual(expect.any(Number));
        expect(run.latencyDefinition).not.toBe('');
        expect(run.loadavgStart).toHaveLength(3);
        expect(run.processes.length).toBeGreaterThan(0);
        if (run.system === 'A') {
          expect(run.variance).toBe(0);
          expect(run.drainMs).toEqual(expect.any(Number));
          const services = run.processes
            .filter((p) => p.kind === 'service')
            .map((p) => p.name)
            .sort();
          expect(services).toEqual(['ingest', 'ledger-writer', 'reconciler', 'reserver']);
          for (const p of run.processes.filter((q) => q.kind === 'service')) {
            expect(p.peakRssMb).toEqual(expect.any(Number));
            expect(p.cpuPercent).toEqual(expect.any(Number));
          }
        }
      }
      // Every system sold exactly the same units: all of them in scenario 1 (sold out).
      const units = new Set(s.runs.map((x) => x.unitsTaken));
      if (s.id === 1) expect([...units]).toEqual([s.params.unitsPerSku]);
      expect(s.ratios.aOverB).toEqual(expect.any(Number));
      expect(s.ratios.aOverC).toEqual(expect.any(Number));
      expect(Object.keys(s.ratios.aOverBByVariant).sort()).toEqual([
        'conditional-update',
        'select-for-update',
      ]);
    }
    expect(r.targets.length).toBeGreaterThan(0);
    for (const t of r.targets) expect(['boolean', 'object']).toContain(typeof t.met);
  });
});
