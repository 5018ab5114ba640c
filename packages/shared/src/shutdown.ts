/**
 * Shutdown manager: on SIGTERM/SIGINT run the named handlers in order (stop reading, finish
 * the batch, ack, close connections) within a deadline, then exit 128+signo. Each handler runs
 * even when an earlier one failed. A second signal exits at once.
 */
import type { Logger } from 'pino';

type Handler = { name: string; fn: () => Promise<unknown> | unknown };

const SIGNO: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

export class ShutdownManager {
  private handlers: Handler[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  /** Handlers run in registration order: register "stop reading" before "close Redis". */
  register(name: string, fn: () => Promise<unknown> | unknown): void {
    this.handlers.push({ name, fn });
  }

  listen(): void {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.on(sig, () => {
        if (this.running) {
          this.log.warn({ signal: sig }, 'second signal: exiting now');
          process.exit(128 + SIGNO[sig]!);
        }
        void this.shutdown(sig).then(() => process.exit(128 + SIGNO[sig]!));
      });
    }
  }

  shutdown(reason: string): Promise<void> {
    this.running ??= this.run(reason);
    return this.running;
  }

  private async run(reason: string): Promise<void> {
    this.log.info({ reason }, 'shutting down');
    const deadline = setTimeout(() => {
      this.log.error({ timeoutMs: this.timeoutMs }, 'shutdown deadline passed: exiting');
      process.exit(1);
    }, this.timeoutMs);
    deadline.unref();
    for (const h of this.handlers) {
      try {
        await h.fn();
      } catch (err) {
        this.log.error({ err, handler: h.name }, 'shutdown step failed');
      }
    }
    clearTimeout(deadline);
    this.log.info('shut down cleanly');
  }
}
