export { Ingest } from './ingest.js';
export { ingestEnv, type IngestConfig } from './config.js';
