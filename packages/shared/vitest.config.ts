import { defineConfig } from 'vitest/config';

// Unit tests only (no servers). The Redis- and MariaDB-backed tests of this package live in
// tests/shared, which can use @holdfast/testkit (it depends on this package).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // logger.test.ts starts a redis-server of its own and polls it.
    testTimeout: 120_000,
  },
});
