import { holdfastTestConfig } from '@holdfast/testkit/vitest-config';

export default holdfastTestConfig({ test: { testTimeout: 600_000 } });
