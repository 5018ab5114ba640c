/** What ./command.ts loads when `holdfast bench` runs (kept apart so the CLI starts fast). */
export { runWithOptions } from './index.js';
