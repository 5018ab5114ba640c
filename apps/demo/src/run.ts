export { runDemo } from './index.js';
