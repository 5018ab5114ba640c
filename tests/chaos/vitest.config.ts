import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { holdfastTestConfig } from '@holdfast/testkit/vitest-config';

/** Scenarios run in file-name order (01 … 11), not by vitest's duration-based default. */
class ByName extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

export default holdfastTestConfig({
  globalSetup: [new URL('./src/global-setup.ts', import.meta.url).pathname],
  test: {
    include: ['test/**/*.test.ts'],
    // One scenario at a time: they load a 2-core machine and some stop servers.
    fileParallelism: false,
    sequence: { concurrent: false, sequencer: ByName },
    testTimeout: 240_000,
    // Scenario rows and checker summaries are part of the output.
    silent: false,
    reporters: ['default'],
  },
});
