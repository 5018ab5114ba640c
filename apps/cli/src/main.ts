/** Entry point of the `holdfast` CLI (see docs/cli.md). */
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2));
// Connections are closed by now; don't let a stray handle keep a finished command alive.
setTimeout(() => process.exit(), 2_000).unref();
