/**
 * How to start a service process: its compiled entry (`apps/<svc>/dist/main.js`, built by
 * `pnpm build`) run by plain node with the `holdfast-dist` export condition, so workspace
 * packages resolve to their compiled code too. Compiled code starts faster and needs about
 * half the memory of running TypeScript through a loader.
 *
 * A build older than its sources is refused (with the command that fixes it) rather than
 * silently running stale code.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ServiceName = 'ingest' | 'reserver' | 'ledger-writer' | 'reconciler';
export const SERVICES: readonly ServiceName[] = [
  'ingest',
  'reserver',
  'ledger-writer',
  'reconciler',
];

/** The repository root (this file lives in packages/shared/{src,dist}/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (!e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export class BuildMissingError extends Error {
  override name = 'BuildMissingError';
}

/** Node arguments that run a service's compiled entry; throws if the build is missing or stale. */
export function serviceNodeArgs(service: ServiceName, root = REPO_ROOT): string[] {
  const entry = join(root, 'apps', service, 'dist', 'main.js');
  const sharedEntry = join(root, 'packages', 'shared', 'dist', 'index.js');
  if (!existsSync(entry) || !existsSync(sharedEntry)) {
    throw new BuildMissingError(`${service} is not built: run \`pnpm build\``);
  }
  // Each package against its own sources: turbo leaves an unchanged package's build alone, so
  // the shared build may rightly be older than a service's newest source.
  const stale =
    newestMtime(join(root, 'apps', service, 'src')) > statSync(entry).mtimeMs ||
    newestMtime(join(root, 'packages', 'shared', 'src')) > statSync(sharedEntry).mtimeMs;
  if (stale) {
    throw new BuildMissingError(`${service}'s build is older than its sources: run \`pnpm build\``);
  }
  return ['--conditions=holdfast-dist', '--enable-source-maps', entry];
}
