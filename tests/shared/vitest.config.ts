import { holdfastTestConfig } from '@holdfast/testkit/vitest-config';

export default holdfastTestConfig();
