export { run, buildProgram } from './program.js';
export { EXIT, CliError } from '@holdfast/shared/tools';
