/**
 * Wiring shared by every service's main.ts: config → logger → service → metrics server →
 * run until a signal. The service itself is a small object with start()/stop()/health().
 */
import type { z } from 'zod';
import { ConfigError, parseEnv } from './env.js';
import { createLogger, type Logger } from './logger.js';
import { createRegistry, startMetricsServer, type Registry } from './metrics.js';
import { ShutdownManager } from './shutdown.js';

export interface Service {
  start(): Promise<void>;
  /** Stop reading, finish the batch in hand, ack, close connections. */
  stop(): Promise<void>;
  /** null when healthy, else a short reason (served on /healthz). */
  health(): Promise<string | null> | string | null;
}

export interface ServiceContext<C> {
  config: C;
  log: Logger;
  registry: Registry;
}

export async function runService<S extends z.ZodType>(opts: {
  name: string;
  schema: S;
  build(ctx: ServiceContext<z.infer<S>>): Promise<Service> | Service;
}): Promise<void> {
  let config: z.infer<S>;
  try {
    config = parseEnv(opts.schema) as z.infer<S>;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${opts.name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const cfg = config as { LOG_LEVEL?: string; METRICS_PORT: number; SHUTDOWN_TIMEOUT_MS: number };
  const log = createLogger(opts.name, cfg.LOG_LEVEL);
  const registry = createRegistry(opts.name);
  const shutdown = new ShutdownManager(log, cfg.SHUTDOWN_TIMEOUT_MS);
  shutdown.listen();
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  try {
    const service = await opts.build({ config, log, registry });
    const metrics = await startMetricsServer(registry, cfg.METRICS_PORT, () => service.health());
    shutdown.register('service', () => service.stop());
    shutdown.register('metrics server', () => metrics.close());
    await service.start();
    log.info({ metricsPort: metrics.port }, 'started');
  } catch (err) {
    log.fatal({ err }, 'failed to start');
    await shutdown.shutdown('start failure');
    process.exit(1);
  }
}
