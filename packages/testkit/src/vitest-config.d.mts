import type { ViteUserConfig } from 'vitest/config';

type TestOptions = NonNullable<ViteUserConfig['test']>;

export interface HoldfastTestConfigOptions {
  /** The tests start services with `startService` (adds ./leftovers.setup.ts). */
  services?: boolean;
  /** Further global setup files, run after the servers are known. */
  globalSetup?: string[];
  /** Anything else of vitest's `test` options (merged last). */
  test?: TestOptions;
}

export function holdfastTestConfig(o?: HoldfastTestConfigOptions): ViteUserConfig;
