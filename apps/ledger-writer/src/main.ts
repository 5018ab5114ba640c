import { runService } from '@holdfast/shared';
import { ledgerWriterEnv } from './config.js';
import { LedgerWriter } from './writer.js';

await runService({
  name: 'ledger-writer',
  schema: ledgerWriterEnv,
  build: ({ config, log, registry }) => new LedgerWriter(config, log, registry),
});
