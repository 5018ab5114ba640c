export { LedgerWriter } from './writer.js';
export { ledgerWriterEnv, type LedgerWriterConfig } from './config.js';
