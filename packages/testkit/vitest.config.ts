import { holdfastTestConfig } from './src/vitest-config.mjs';

export default holdfastTestConfig();
