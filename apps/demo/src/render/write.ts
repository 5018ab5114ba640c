/** Where a run's reports go (<out>/demo-<stamp>/), and writing them. */
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { renderHtml } from './html.js';
import type { DemoReport } from './report.js';

export interface ReportFiles {
  dir: string;
  json: string;
  html: string;
  /** The fleet's child logs. */
  log: string;
}

export function reportFiles(out: string, stamp: string): ReportFiles {
  const dir = resolve(out, `demo-${stamp}`);
  return {
    dir,
    json: join(dir, 'report.json'),
    html: join(dir, 'report.html'),
    log: join(dir, 'fleet.log'),
  };
}

/** `p` relative to the working directory when it lies below it, else as is. */
export function shortPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

export async function writeReports(report: DemoReport, files: ReportFiles): Promise<void> {
  await writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(files.html, renderHtml(report));
}
