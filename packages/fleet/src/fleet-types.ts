/**
 * The supervisor's public types: the options of startFleet, the Fleet it returns, its children
 * and the events and lines it reports (./supervisor.ts implements them).
 */
import type { ChildProcess } from 'node:child_process';
import type { ServiceName } from '@holdfast/shared';

export type ChildState = 'starting' | 'running' | 'backoff' | 'stopping' | 'exited' | 'failed';

export interface FleetChild {
  readonly service: ServiceName;
  readonly replica: number;
  /** `<service>#<replica>`, the prefix of its log lines. */
  readonly name: string;
  state: ChildState;
  /** Current process (undefined while waiting to restart). */
  proc: ChildProcess | undefined;
  pid: number | undefined;
  /** From the service's "started" log line; undefined until then. */
  metricsPort: number | undefined;
  /** Times it was restarted after a crash. */
  restarts: number;
  startedAt: number;
  lastExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

export interface FleetLine {
  child: FleetChild;
  stream: 'stdout' | 'stderr';
  line: string;
  /** The parsed JSON log record, when the line is one. */
  record: Record<string, unknown> | undefined;
}

export type FleetEvent =
  | { type: 'spawn'; child: FleetChild; pid: number }
  | { type: 'started'; child: FleetChild; pid: number; metricsPort: number | undefined }
  | {
      type: 'exit';
      child: FleetChild;
      pid: number;
      code: number | null;
      signal: NodeJS.Signals | null;
      uptimeMs: number;
    }
  | { type: 'restart-scheduled'; child: FleetChild; delayMs: number; attempt: number }
  | { type: 'gave-up'; child: FleetChild; reason: string }
  | { type: 'stopping'; children: number }
  | { type: 'kill'; child: FleetChild; pid: number; reason: 'deadline' | 'kill' }
  | { type: 'stopped'; killed: number; durationMs: number };

export interface BackoffOptions {
  /** First restart delay (default 1 000 ms); doubles per consecutive crash. */
  initialMs?: number;
  /** Cap (default 30 000 ms). */
  maxMs?: number;
  /** A child that ran this long before crashing starts again from initialMs (default 60 000 ms). */
  resetAfterMs?: number;
}

export interface FleetOptions {
  /** Replicas per service (default 1). */
  replicas?: number;
  /** Services to run (default all four). */
  only?: readonly ServiceName[];
  /** Environment for the children, over process.env (an undefined value removes a variable). */
  env?: Record<string, string | undefined>;
  /** Every output line of every child. */
  onLine?(line: FleetLine): void;
  /** Lifecycle events (spawn, started, exit, restart, stop). */
  onEvent?(event: FleetEvent): void;
  /** stop(): SIGTERM, then SIGKILL whatever still runs after this long (default 20 000 ms). */
  stopTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Repository root the services are run from (default: this checkout). */
  root?: string;
  /** Node.js binary (default: the current one). */
  nodePath?: string;
}

export interface Fleet {
  readonly children: readonly FleetChild[];
  /** Resolves once every child logged "started" (rejects after timeoutMs, default 60 s). */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM to every child, wait (stopTimeoutMs), SIGKILL stragglers. Safe to call twice. */
  stop(): Promise<{ killed: number }>;
  /** SIGKILL every child at once and stop supervising (second Ctrl-C). */
  kill(): void;
  readonly stopping: boolean;
}
