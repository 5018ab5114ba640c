/**
 * pino logger factory: JSON lines, one child per service; batch/entry context goes on child
 * loggers. Secrets never reach a log line: URLs are redacted before they are logged and the
 * usual secret-bearing keys are censored as a second line of defence.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
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
