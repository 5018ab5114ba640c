/**
 * `holdfast fleet`: every service in one foreground supervisor (@holdfast/fleet).
 * SIGINT/SIGTERM/SIGHUP: SIGTERM to every child, wait for them (20 s, then SIGKILL), exit 0.
 * A second signal (more than 1 s after the first) SIGKILLs the children at once (exit 130).
 */
import { loadConfig } from '@holdfast/shared/tools';
import { EXIT, usageError } from '@holdfast/shared/tools';
import { formatChildLine, formatEvent, jsonChildLine, jsonEvent } from '@holdfast/fleet';
import { FleetConfigError, parseServices, startFleet, type ServiceName } from '@holdfast/fleet';

/** Signals closer together than this count as one. */
const SIGNAL_DEBOUNCE_MS = 1_000;

export interface FleetCommandOptions {
  replicas: string;
  only?: string;
  jsonLogs?: boolean;
  stopTimeout: string;
}

export async function runFleet(opts: FleetCommandOptions): Promise<number> {
  // Validate the shared settings up front: a bad REDIS_URL is one clear error, not four
  // children failing in a loop.
  loadConfig();
  const replicas = Number(opts.replicas);
  if (!/^\d+$/.test(opts.replicas) || replicas < 1 || replicas > 64) {
    throw usageError(`--replicas must be an integer 1–64, got ${JSON.stringify(opts.replicas)}`);
  }
  const stopTimeoutS = Number(opts.stopTimeout);
  if (!Number.isFinite(stopTimeoutS) || stopTimeoutS <= 0) {
    throw usageError(
      `--stop-timeout must be a positive number of seconds, got ${JSON.stringify(opts.stopTimeout)}`,
    );
  }
  let only: ServiceName[] | undefined;
  try {
    only = opts.only ? parseServices(opts.only) : undefined;
  } catch (err) {
    throw usageError((err as Error).message);
  }

  const color = !opts.jsonLogs && !!process.stdout.isTTY && !process.env.NO_COLOR;
  const write = (s: string | null) => {
    if (s !== null) process.stdout.write(`${s}\n`);
  };
  let exitCode: number = EXIT.ok;
  let requestStop: () => void = () => {};
  const stopRequested = new Promise<void>((r) => (requestStop = r));
  let fleet: ReturnType<typeof startFleet>;
  try {
    fleet = startFleet({
      replicas,
      ...(only && { only }),
      stopTimeoutMs: stopTimeoutS * 1000,
      onLine: (l) => write(opts.jsonLogs ? jsonChildLine(l) : formatChildLine(l, { color })),
      onEvent: (e) => {
        write(opts.jsonLogs ? jsonEvent(e) : formatEvent(e, { color }));
        if (e.type === 'gave-up') {
          // A child rejected its configuration: the fleet can't run as configured.
          exitCode = EXIT.usage;
          requestStop();
        }
      },
    });
  } catch (err) {
    if (err instanceof FleetConfigError) throw usageError(err.message);
    throw err;
  }

  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    const now = Date.now();
    if (!firstSignalAt) {
      firstSignalAt = now;
      process.stderr.write(`holdfast fleet: ${sig}: stopping (again to kill at once)\n`);
      requestStop();
      return;
    }
    // A wrapper (tsx's CLI, a process manager) may relay the same Ctrl-C a moment later: only
    // a signal well after the first one means "kill now".
    if (now - firstSignalAt < SIGNAL_DEBOUNCE_MS) return;
    process.stderr.write(`holdfast fleet: ${sig} again: killing every child\n`);
    fleet.kill();
    process.exit(130);
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, onSignal);
  // Runs until a signal (or a child's configuration error), then stops every child.
  await stopRequested;
  await fleet.stop();
  for (const s of sigs) process.off(s, onSignal);
  return exitCode;
}
