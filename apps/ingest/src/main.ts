import { runService } from '@holdfast/shared';
import { ingestEnv } from './config.js';
import { Ingest } from './ingest.js';

await runService({
  name: 'ingest',
  schema: ingestEnv,
  build: ({ config, log, registry }) => new Ingest(config, log, registry),
});
