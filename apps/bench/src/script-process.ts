/**
 * A TypeScript module of this package run as a process of its own (`node --import tsx`, tsx from
 * the repository root as the CLI uses it), talking JSON lines on stdin/stdout. The benchmark's
 * helpers that must not share the client's event loop or CPU account run this way: the
 * --rtt-ms proxies and the collateral traffic. The child ends when its stdin closes, so it
 * never outlives the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '@holdfast/shared';

export interface ScriptProcess {
  child: ChildProcess;
  /** The next line the child printed (undefined once it exited). */
  nextLine(timeoutMs?: number): Promise<string | undefined>;
  /** Sends one line to the child's stdin. */
  send(line: string): void;
  /** Closes stdin (the child stops), SIGKILL after `graceMs`; resolves on exit. */
  end(graceMs?: number): Promise<void>;
}

export function startScript(entry: URL, arg: unknown): ScriptProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(entry), JSON.stringify(arg)],
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    nextLine: async (timeoutMs = 60_000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${entry.pathname}: no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        const next = await Promise.race([lines.next(), exited.then(() => undefined), timeout]);
        return next && !next.done ? String(next.value) : undefined;
      } finally {
        clearTimeout(timer);
      }
    },
    send: (line) => void child.stdin!.write(line + '\n'),
    end: async (graceMs = 10_000) => {
      child.stdin!.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    },
  };
}
