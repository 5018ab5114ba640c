/**
 * Environment parsing. Each service declares one zod schema for its environment and parses it
 * once at start; a bad or missing value fails fast with a message that names the variable.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `source` (default process.env) with `schema`; throws ConfigError naming each bad variable. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined> = process.env,
): Readonly<z.infer<S>> {
  const res = schema.safeParse(source);
  if (!res.success) {
    const lines = res.error.issues.map((i) => {
      const name = i.path.join('.') || '(environment)';
      const raw = source[name];
      const shown = raw === undefined ? 'unset' : /URL/.test(name) ? 'set' : JSON.stringify(raw);
      return `  ${name} (${shown}): ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(res.data);
}

/** An integer environment variable with bounds and a default. */
export const int = (def: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(String(def) as never)
    .transform((v) => Number(v));

export const redisUrl = z
  .string()
  .default('redis://127.0.0.1:6379')
  .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL');

export const mysqlUrl = z
  .string()
  .default('mysql://root@127.0.0.1:3306/holdfast')
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'mysql:' && u.pathname.length > 1;
    } catch {
      return false;
    }
  }, 'must be a mysql:// URL with a database name, e.g. mysql://user:pass@host:3306/holdfast');

/** A namespace prefixed to every Redis name; empty in production, random in tests. */
export const namespace = z
  .string()
  .default('')
  .refine((v) => /^[A-Za-z0-9_:.-]{0,64}$/.test(v), 'letters, digits, _ : . - only (max 64)');

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

/** Settings every service shares. */
export const commonEnv = {
  REDIS_URL: redisUrl,
  HOLDFAST_NAMESPACE: namespace,
  HOLDFAST_SHARD: z
    .string()
    .default('main')
    .refine((v) => /^[A-Za-z0-9_-]{1,32}$/.test(v), 'letters, digits, _ - only (max 32)'),
  LOG_LEVEL: logLevel,
  CONSUMER_NAME: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/)
    .optional(),
  SHUTDOWN_TIMEOUT_MS: int(15_000, 100, 300_000),
  /** How long an event_id is remembered: the window in which a duplicate has no effect. */
  DEDUPE_TTL_SECONDS: int(7 * 86_400, 60, 90 * 86_400),
};

/** Settings of every stream consumer. */
export const workerEnv = {
  BATCH_SIZE: int(500, 1, 10_000),
  BLOCK_MS: int(1_000, 10, 60_000),
  /** An entry pending this long on a silent consumer is taken over by another replica. */
  CLAIM_IDLE_MS: int(30_000, 100, 3_600_000),
  /** Deliveries after which an entry is dead-lettered instead of retried again. */
  MAX_DELIVERIES: int(5, 1, 1_000),
  HOUSEKEEPING_MS: int(5_000, 100, 600_000),
  /** Consumers idle this long that hold nothing are removed from the group. */
  CONSUMER_IDLE_MS: int(3_600_000, 1_000, 30 * 86_400_000),
  DLQ_MAX_VALUE_BYTES: int(65_536, 64, 16 * 1024 * 1024),
};

/** METRICS_PORT with a per-service default; 0 picks a free port. */
export const metricsPort = (def: number) => ({ METRICS_PORT: int(def, 0, 65_535) });
