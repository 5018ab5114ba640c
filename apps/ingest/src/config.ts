import { z } from 'zod';
import { commonEnv, replyEnv, metricsPort, workerEnv } from '@holdfast/shared';

/** Every setting of the ingest service, parsed once at start (see README, Configuration). */
export const ingestEnv = z.object({
  ...commonEnv,
  ...workerEnv,
  ...metricsPort(9101),
  ...replyEnv,
});
export type IngestConfig = z.infer<typeof ingestEnv>;
