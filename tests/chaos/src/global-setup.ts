/**
 * Once per `pnpm test:chaos` run: a new results table (rows under reports/rows/<run>/), and a fresh build of the services
 * (the fleet runs their compiled entries; the supervisor refuses a missing or stale build).
 * `pnpm build` (turbo, cached) runs only when a service's build is missing or stale.
 */
import { spawnSync } from 'node:child_process';
import { REPO_ROOT as ROOT, SERVICES, serviceNodeArgs } from '@holdfast/shared';
import { startRun } from './report.js';

function stale(): string | undefined {
  for (const s of SERVICES) {
    try {
      serviceNodeArgs(s, ROOT);
    } catch (err) {
      return (err as Error).message;
    }
  }
  return undefined;
}

export default function setup(): void {
  startRun();
  const why = stale();
  if (!why) return;
  console.log(`[chaos] ${why}: building the services first (pnpm build)`);
  const r = spawnSync('pnpm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 600_000 });
  if (r.status !== 0)
    throw new Error(`pnpm build failed (${r.status}); the chaos suite runs the compiled services`);
  const still = stale();
  if (still) throw new Error(`after pnpm build: ${still}`);
}
