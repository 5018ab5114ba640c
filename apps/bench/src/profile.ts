/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per package, so a
 * report can say which code a service spends its CPU in.
 *
 *   pnpm --filter @holdfast/bench exec tsx src/profile.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  file: string;
  /** Only samples inside this window (µs, CLOCK_MONOTONIC like process.hrtime) were counted. */
  window: { fromUs: number; toUs: number; samples: number } | null;
  /** Profiled wall time, ms. */
  durationMs: number;
  /** Sampled time that was not idle, ms. */
  busyMs: number;
  topFunctions: Array<{ fn: string; where: string; selfMs: number; share: number }>;
  byPackage: Array<{ pkg: string; selfMs: number; share: number }>;
}

/** Where a script lives: a package name, node internals, or the holdfast source file. */
function packageOf(url: string): string {
  if (!url) return '(native/vm)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(apps|packages)\/([^/]+)\/src\/(.*)$/.exec(url);
  if (m) return `holdfast:${m[1]}/${m[2]}/${m[3]}`;
  return url.replace(/^file:\/\//, '');
}

/**
 * `window` restricts the summary to samples taken inside [fromUs, toUs] — V8's profile clock and
 * process.hrtime() are both CLOCK_MONOTONIC on Linux, so the benchmark's measurement window
 * (taken in another process) cuts the service's startup (module loading) out of the profile.
 */
export function summarizeProfile(
  file: string,
  top = 20,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let inWindow = 0;
  let spanMs = (prof.endTime - prof.startTime) / 1000;
  if (prof.samples && prof.timeDeltas) {
    // Attribute each interval to the sample that ends it (what DevTools does).
    let t = prof.startTime;
    let first = Infinity;
    let last = -Infinity;
    for (let i = 0; i < prof.samples.length; i++) {
      t += prof.timeDeltas[i] ?? 0;
      if (window && (t < window.fromUs || t > window.toUs)) continue;
      inWindow++;
      first = Math.min(first, t);
      last = Math.max(last, t);
      const dt = (prof.timeDeltas[i + 1] ?? 0) / 1000;
      const id = prof.samples[i]!;
      self.set(id, (self.get(id) ?? 0) + Math.max(0, dt));
    }
    if (window) spanMs = inWindow ? (last - first) / 1000 : 0;
  } else {
    const interval =
      (prof.endTime - prof.startTime) /
      1000 /
      Math.max(
        1,
        prof.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0),
      );
    for (const n of prof.nodes) self.set(n.id, (n.hitCount ?? 0) * interval);
  }
  const durationMs = spanMs;
  const fns = new Map<string, { fn: string; where: string; selfMs: number }>();
  const pkgs = new Map<string, number>();
  let busy = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)') continue;
    busy += ms;
    const short = n.callFrame.url.replace(/^file:\/\/.*?\/(apps|packages|node_modules)\//, '$1/');
    const where = n.callFrame.url ? `${short}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const f = fns.get(key) ?? { fn: name, where, selfMs: 0 };
    f.selfMs += ms;
    fns.set(key, f);
    const pkg = name === '(garbage collector)' ? '(gc)' : packageOf(n.callFrame.url);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + ms);
  }
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const share = (v: number) => (busy ? Math.round((v / busy) * 1000) / 1000 : 0);
  return {
    file,
    window: window ? { ...window, samples: inWindow } : null,
    durationMs: r1(durationMs),
    busyMs: r1(busy),
    topFunctions: [...fns.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((f) => ({ ...f, selfMs: r1(f.selfMs), share: share(f.selfMs) })),
    byPackage: [...pkgs.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([pkg, ms]) => ({ pkg, selfMs: r1(ms), share: share(ms) })),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx src/profile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const s = summarizeProfile(file, Number(process.argv[3] ?? 25));
  console.log(`${s.file}: ${s.durationMs} ms profiled, ${s.busyMs} ms busy`);
  console.log('\nby package:');
  for (const p of s.byPackage)
    console.log(
      `  ${(p.share * 100).toFixed(1).padStart(5)} %  ${p.selfMs.toFixed(0).padStart(7)} ms  ${p.pkg}`,
    );
  console.log('\ntop functions (self time):');
  for (const f of s.topFunctions)
    console.log(
      `  ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.fn}  ${f.where}`,
    );
}
