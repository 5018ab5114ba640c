/**
 * The stale-build guard: services run compiled, so a build older than its sources must be
 * refused — and a build that is current must not be, even when turbo left the unchanged
 * shared package's build older than a service's latest edit.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildMissingError, serviceNodeArgs } from './service-entry.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A repo skeleton whose files have the given mtimes (seconds). */
function repo(t: { appSrc: number; appDist: number; sharedSrc: number; sharedDist: number }) {
  const root = mkdtempSync(join(tmpdir(), 'hf-entry-'));
  roots.push(root);
  const files: Array<[string, number]> = [
    ['apps/reserver/src/main.ts', t.appSrc],
    ['apps/reserver/src/reserver.test.ts', t.appSrc + 1_000], // tests don't count
    ['apps/reserver/dist/main.js', t.appDist],
    ['packages/shared/src/index.ts', t.sharedSrc],
    ['packages/shared/dist/index.js', t.sharedDist],
  ];
  for (const [f, mtime] of files) {
    const p = join(root, f);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, '');
    utimesSync(p, mtime, mtime);
  }
  return root;
}

describe('serviceNodeArgs', () => {
  it('runs a current build', () => {
    const root = repo({ appSrc: 100, appDist: 200, sharedSrc: 100, sharedDist: 200 });
    expect(serviceNodeArgs('reserver', root)).toContain(join(root, 'apps/reserver/dist/main.js'));
  });

  it("accepts a shared build older than the service's latest edit when each is current", () => {
    const root = repo({ appSrc: 300, appDist: 400, sharedSrc: 100, sharedDist: 200 });
    expect(() => serviceNodeArgs('reserver', root)).not.toThrow();
  });

  it('refuses a service build older than its sources', () => {
    const root = repo({ appSrc: 300, appDist: 200, sharedSrc: 100, sharedDist: 200 });
    expect(() => serviceNodeArgs('reserver', root)).toThrow(BuildMissingError);
  });

  it('refuses a shared build older than its sources', () => {
    const root = repo({ appSrc: 100, appDist: 400, sharedSrc: 300, sharedDist: 200 });
    expect(() => serviceNodeArgs('reserver', root)).toThrow(/older than its sources/);
  });

  it('refuses a missing build', () => {
    const root = repo({ appSrc: 100, appDist: 200, sharedSrc: 100, sharedDist: 200 });
    rmSync(join(root, 'apps/reserver/dist'), { recursive: true });
    expect(() => serviceNodeArgs('reserver', root)).toThrow(/not built/);
  });
});
