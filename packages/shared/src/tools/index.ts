/**
 * What holdfast's command-line tools (the CLI, the demo, the benchmark) share: exit codes and
 * one-line errors (./errors.ts), their configuration from the services' environment variables
 * (./config.ts), and connections that fail fast with a clear message instead of retrying
 * forever like a service (./connect.ts). Not used by the services.
 */
export * from './errors.js';
export * from './config.js';
export * from './connect.js';
