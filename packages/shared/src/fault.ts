/**
 * Fault injection for the chaos and crash tests: HOLDFAST_FAULT=<point>:<n> makes the process
 * SIGKILL itself the n-th time it reaches <point> (e.g. `ledger.before_commit:3`). Unset in
 * production, where a call costs one comparison.
 *
 * Points: worker.after_claim, ingest.after_forward, reserver.after_decide, ledger.before_commit,
 * ledger.after_commit.
 */
const spec = process.env.HOLDFAST_FAULT;
const [faultPoint, faultAt] = spec
  ? [spec.slice(0, spec.lastIndexOf(':')), Number(spec.slice(spec.lastIndexOf(':') + 1))]
  : ['', 0];
let hits = 0;

export function fault(point: string): void {
  if (!spec || point !== faultPoint) return;
  hits++;
  if (hits >= faultAt) {
    process.stderr.write(`HOLDFAST_FAULT: killing myself at ${point} (hit ${hits})\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
