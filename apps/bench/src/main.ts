/** `pnpm --filter @holdfast/bench bench [options]`: the benchmark without the CLI around it. */
import { run } from './index.js';

process.exitCode = await run(process.argv.slice(2));
// Connections are closed by now; don't let a stray handle keep a finished run alive.
setTimeout(() => process.exit(), 2_000).unref();
