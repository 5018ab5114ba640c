export { run } from './index.js';
