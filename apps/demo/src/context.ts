/**
 * What every phase of a demo run shares: the options, the output, Ctrl-C and fatal fleet
 * events (one AbortController), and the resources opened so far — close() releases them all,
 * whichever phase the run stopped in.
 */
import type { WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteNamespace, type Redis } from '@holdfast/shared';
import type { Pool } from '@holdfast/shared/mysql';
import { CliError, errorMessage } from '@holdfast/shared/tools';
import type { Fleet, RedisCluster } from '@holdfast/fleet';
import type { DemoOptions } from './options.js';
import type { DemoTarget } from './setup/target.js';
import type { Observers } from './observe/observers.js';
import type { ProgressView } from './observe/progress.js';

/** The run was interrupted (Ctrl-C, SIGTERM) — or aborted by a fatal fleet event (ctx.fatal). */
export class Interrupted extends Error {
  override name = 'Interrupted';
}

export interface DemoOutput {
  /** A line to stdout. */
  out: (line: string) => void;
  /** A line to stderr. */
  err: (line: string) => void;
}

export class DemoContext {
  private readonly ac = new AbortController();
  /** A fleet child gave up: the run fails with this once it notices the abort. */
  fatal: Error | undefined;
  private interrupted = false;

  // Resources, in the order they are opened; close() releases whatever is set.
  /** The demo's own Redis Cluster (--cluster): stopped last, by pid. */
  cluster: RedisCluster | undefined;
  target: DemoTarget | undefined;
  redis: Redis | undefined;
  fleetLog: WriteStream | undefined;
  fleet: Fleet | undefined;
  observers: Observers | undefined;
  /** The live progress view while the crowd runs (lines then go above its bars). */
  progress: ProgressView | undefined;
  pool: Pool | undefined;

  constructor(
    readonly o: DemoOptions,
    readonly io: DemoOutput,
  ) {}

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** A phase line: above the progress bars while they show, else on stdout. */
  say(line: string): void {
    if (this.progress) this.progress.log(line);
    else this.io.out(line);
  }

  /** Throws the fatal error, or Interrupted, once the run was aborted. */
  check(): void {
    if (this.fatal) throw this.fatal;
    if (this.ac.signal.aborted) throw new Interrupted();
  }

  /** Fails the run with `err` (a fleet child gave up): every wait stops at once. */
  fail(err: Error): void {
    this.fatal = err;
    this.ac.abort();
  }

  /** Waits `ms`; an abort ends the wait with the fatal error or Interrupted. */
  async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.ac.signal }).catch(() => this.check());
  }

  /** Polls `probe` until true; fails on interrupt, a fatal fleet event, or `timeoutMs`. */
  async until(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.check();
      if (await probe()) return;
      if (Date.now() > deadline)
        throw new CliError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await this.pause(100);
    }
  }

  /** `p`, or Interrupted when the run is aborted first. */
  abortable<T>(p: Promise<T>): Promise<T> {
    const signal = this.ac.signal;
    if (signal.aborted) return Promise.reject(new Interrupted());
    return new Promise<T>((res, rej) => {
      const onAbort = () => rej(new Interrupted());
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => (signal.removeEventListener('abort', onAbort), res(v)),
        (e: unknown) => (signal.removeEventListener('abort', onAbort), rej(e)),
      );
    });
  }

  /** SIGINT/SIGTERM: the first stops the run gracefully, a second kills the fleet and exits. */
  readonly onSignal = (): void => {
    if (!this.interrupted) {
      this.interrupted = true;
      this.say('\ninterrupted: stopping the crowd and the fleet (Ctrl-C again to kill at once)…');
      this.ac.abort();
      return;
    }
    this.fleet?.kill();
    process.exit(130);
  };

  /** Closes everything still open; deletes the demo's own namespace unless --keep. */
  async close(): Promise<void> {
    await this.observers?.close();
    this.progress = undefined;
    if (this.fleet) {
      this.say('stopping the fleet…');
      await this.fleet.stop().catch(() => {});
    }
    await this.pool?.end().catch(() => {});
    const t = this.target;
    if (this.redis && t?.ownNamespace && !this.o.keep) {
      await deleteNamespace(this.redis, t.namespace).catch((e: unknown) =>
        this.io.err(
          `warning: could not delete the demo namespace "${t.namespace}": ${errorMessage(e)}`,
        ),
      );
    }
    await this.redis?.quit().catch(() => this.redis?.disconnect());
    const log = this.fleetLog;
    if (log) await new Promise<void>((res) => log.end(res));
    const cluster = this.cluster;
    if (cluster) {
      this.cluster = undefined;
      await cluster
        .stop()
        .catch((e: unknown) =>
          this.io.err(`warning: stopping the local Redis Cluster: ${errorMessage(e)}`),
        );
      this.io.out(
        `stopped the local Redis Cluster (pids ${cluster.nodes.map((n) => n.pid).join(', ')})`,
      );
    }
  }
}
