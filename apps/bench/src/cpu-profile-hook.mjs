// CPU profiling of a service without --cpu-prof (which Node 20 refuses in NODE_OPTIONS):
//   NODE_OPTIONS="--import <this file>" HOLDFAST_BENCH_CPU_PROF_DIR=<dir>
// starts the V8 sampling profiler in-process and writes <dir>/CPU.0.0.<pid>.<thread>.001.cpuprofile
// when the process exits (a service exits through process.exit after SIGTERM). Plain JS on
// purpose: it is loaded before tsx.
import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

const dir = process.env.HOLDFAST_BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // An in-thread inspector session answers synchronously, so this completes before exit.
    session.post('Profiler.stop', (err, res) => {
      if (err || !res) return;
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(
          join(dir, `CPU.0.0.${process.pid}.${threadId}.001.cpuprofile`),
          JSON.stringify(res.profile),
        );
      } catch {
        /* best effort */
      }
    });
  });
}
