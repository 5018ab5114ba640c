/**
 * No secret reaches a log line: ioredis errors carry the failed command's arguments (AUTH's
 * password), messages can quote a URL with its password.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { redactSecrets, redactUrl, serializeError } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = pino({ serializers: { err: serializeError } }, stream);
  return { log, lines };
}

it('drops command arguments from errors, also in the cause chain', () => {
  const err = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
    command: { name: 'auth', args: ['default', 's3cret-pw'] },
    cause: Object.assign(new Error('inner'), {
      command: { name: 'hello', args: ['3', 'AUTH', 'u', 's3cret-pw'] },
    }),
  });
  const { log, lines } = capture();
  log.error({ err }, 'failed to start');
  expect(lines.join('')).not.toContain('s3cret-pw');
  expect(lines.join('')).toContain('"name":"auth"');
});

it('redacts passwords of URLs quoted in messages', () => {
  expect(redactSecrets('connect to redis://:pw1@host:6379 failed')).toBe(
    'connect to redis://:***@host:6379 failed',
  );
  expect(redactSecrets('mysql://root:pw2@db:3306/x')).toBe('mysql://root:***@db:3306/x');
  expect(redactUrl('mysql://root:pw2@db:3306/x')).not.toContain('pw2');
});

it('a real AUTH failure from ioredis logs no password', async () => {
  // A private Redis that requires a password (the shared test server has none).
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const proc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      'the-right-one',
    ],
    { stdio: 'ignore' },
  );
  try {
    let err: unknown;
    for (let i = 0; i < 100; i++) {
      // As a service meets it: the first command fails with the AUTH reply error.
      const r = new Redis(`redis://:not-the-password-42@127.0.0.1:${port}`, {
        maxRetriesPerRequest: 1,
      });
      r.on('error', () => {});
      err = await r.xgroup('CREATE', 's', 'g', '0', 'MKSTREAM').catch((e: unknown) => e);
      r.disconnect();
      if (err instanceof Error && /WRONGPASS/.test(err.message)) break;
      await sleep(50);
    }
    // The raw error does carry the password (this is what the serializer must stop).
    expect(JSON.stringify((err as { command?: unknown }).command)).toContain('not-the-password-42');
    const { log, lines } = capture();
    log.error({ err }, 'failed to start');
    expect(lines.join('')).not.toContain('not-the-password-42');
    expect(lines.join('')).toMatch(/WRONGPASS/);
  } finally {
    proc.kill('SIGKILL');
  }
});
