import { runService } from '@holdfast/shared';
import { reconcilerEnv } from './config.js';
import { Reconciler } from './reconciler.js';

await runService({
  name: 'reconciler',
  schema: reconcilerEnv,
  build: ({ config, log, registry }) => new Reconciler(config, log, registry),
});
