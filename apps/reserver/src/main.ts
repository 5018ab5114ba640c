import { runService } from '@holdfast/shared';
import { reserverEnv } from './config.js';
import { Reserver } from './reserver.js';

await runService({
  name: 'reserver',
  schema: reserverEnv,
  build: ({ config, log, registry }) => new Reserver(config, log, registry),
});
