/**
 * Exit codes of every holdfast command (docs/cli.md):
 *   0  ok
 *   1  the operation failed or found problems (variance, unknown SKU, Redis unreachable, …)
 *   2  usage or configuration error (bad argument, bad environment variable)
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const agg = err as Error & { errors?: unknown[]; code?: string };
    // Connection failures often come as an AggregateError with an empty message.
    if (!agg.message && agg.errors?.length) return errorMessage(agg.errors[0]);
    return agg.message || agg.code || err.name;
  }
  return String(err);
}
