export { run, buildProgram } from './program.js';
export { EXIT, CliError } from './errors.js';
export * from './fleet/supervisor.js';
