/**
 * Re-renders a report directory from its report.json with the current report code (derived
 * figures, ratios, targets, verdict, markdown). The measurements themselves are not touched.
 *   pnpm --filter @holdfast/bench exec tsx src/render.ts reports/bench-<ts>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderMarkdown } from './markdown.js';
import { perDecisionUs, ratios, runFailures, targets } from './report.js';
import type { BenchReport } from './types.js';

export function rerender(report: BenchReport): BenchReport {
  for (const s of report.scenarios) {
    for (const r of s.runs) if (!r.error) r.perDecisionUs = perDecisionUs(r);
    s.ratios = ratios(s.runs);
  }
  report.failures = report.scenarios.flatMap((s) => s.runs.flatMap((r) => runFailures(s.id, r)));
  report.status = report.failures.length ? 'FAILED' : 'PASSED';
  report.targets = targets(report.scenarios);
  return report;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: tsx src/render.ts <report dir>');
    process.exit(2);
  }
  const report = rerender(
    JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as BenchReport,
  );
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  const md = renderMarkdown(report);
  writeFileSync(join(dir, 'report.md'), md);
  process.stdout.write(md);
}
