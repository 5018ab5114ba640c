import { holdfastTestConfig } from './src/vitest-config.js';

export default holdfastTestConfig();
