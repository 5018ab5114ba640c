import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: [
      new URL('../../packages/shared/src/testing/global-setup.ts', import.meta.url).pathname,
    ],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
