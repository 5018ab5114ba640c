/**
 * Per-test-file setup for gate tests: one isolated Redis namespace per file and a fresh
 * sub-namespace per harness, so tests of one file never see each other's keys.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedis, type GateConfig } from '@holdfast/shared';
import { isolatedEnv, type IsolatedEnv } from '../isolated-env.js';
import { randomId } from '../ids.js';
import { CFG } from './config.js';
import { Harness, type HarnessOptions } from './harness.js';

/** Opens `n` extra script-registered connections. */
export function openClients(redisUrl: string, n: number, name = 'hf-test-client'): Redis[] {
  return Array.from({ length: n }, (_, i) => createRedis(redisUrl, { name: `${name}-${i}` }));
}

// ------------------------------------------------------------------ per-file setup

/**
 * One isolated Redis namespace per test file (`isolatedEnv({ mysql: false })`), and a fresh
 * sub-namespace per harness so tests of one file never see each other's keys.
 */
export function fileEnv() {
  let env: IsolatedEnv | undefined;
  const open: Array<{ disconnect(): void }> = [];
  beforeAll(async () => {
    env = await isolatedEnv({ mysql: false });
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    for (const c of open.splice(0)) c.disconnect();
    await env?.cleanup();
  });
  return {
    get env(): IsolatedEnv {
      return env!;
    },
    /** A harness on its own sub-namespace of the file's namespace. */
    harness(cfg: GateConfig = CFG, opts: HarnessOptions = {}): Harness {
      const h = Harness.open(env!.redisUrl, `${env!.namespace}${randomId()}:`, cfg, opts);
      open.push(h.r);
      return h;
    },
    clients(n: number): Redis[] {
      const cs = openClients(env!.redisUrl, n);
      open.push(...cs);
      return cs;
    },
  };
}
