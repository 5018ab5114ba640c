/**
 * pino logger factory: JSON lines, one child per service; batch/entry context goes on child
 * loggers. Secrets never reach a log line: URLs are redacted before they are logged and the
 * usual secret-bearing keys are censored as a second line of defence.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Error serializer that never prints command arguments: ioredis attaches the failed command
 * (`err.command.args`) to its errors, and for AUTH / HELLO that is the password. Only the
 * command's name is kept, on the error and on every error in its cause chain.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const scrub = (o: unknown, depth: number): void => {
    if (!o || typeof o !== 'object' || depth > 5) return;
    const rec = o as Record<string, unknown>;
    const cmd = rec.command as { name?: unknown } | undefined;
    if (cmd && typeof cmd === 'object') rec.command = { name: cmd.name };
    if ('args' in rec && rec.name === undefined) delete rec.args;
    scrub(rec.cause, depth + 1);
    if (Array.isArray(rec.errors)) for (const e of rec.errors) scrub(e, depth + 1);
  };
  scrub(out, 0);
  if (typeof out.message === 'string') out.message = redactSecrets(out.message);
  if (typeof out.stack === 'string') out.stack = redactSecrets(out.stack);
  return out;
}

/** Passwords inside URLs anywhere in a string (error messages can quote a URL). */
export function redactSecrets(s: string): string {
  return s.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, '$1***@');
}

export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    serializers: { err: serializeError, error: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'password',
        '*.password',
        'url',
        '*.url',
        'redisUrl',
        'mysqlUrl',
        '*.redisUrl',
        '*.mysqlUrl',
      ],
      censor: '[redacted]',
    },
  });
}

/** Removes the password (and user info) from a URL for display. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
