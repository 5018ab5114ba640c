/**
 * The vitest configuration every holdfast package's tests share: the run's Redis and MySQL
 * (./global-setup.ts), generous timeouts for real servers and processes, and — for packages
 * whose tests start services — a setup file that kills what a test file left running.
 *
 *   // apps/<service>/vitest.config.ts
 *   import { holdfastTestConfig } from '@holdfast/testkit/vitest-config';
 *   export default holdfastTestConfig({ services: true });
 *
 * Plain JavaScript (typed by ./vitest-config.d.mts) because vitest loads a config's imports of
 * linked workspace packages with plain Node, which does not run TypeScript on Node 20.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

/** @param {import('./vitest-config.mjs').HoldfastTestConfigOptions} [o] */
export function holdfastTestConfig(o = {}) {
  return defineConfig({
    test: {
      globalSetup: [here('./global-setup.ts'), ...(o.globalSetup ?? [])],
      setupFiles: o.services ? [here('./leftovers.setup.ts')] : [],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      ...o.test,
    },
  });
}
