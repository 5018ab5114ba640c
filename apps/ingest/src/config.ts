import { z } from 'zod';
import { commonEnv, durabilityEnv, replyEnv, metricsPort, workerEnv } from '@holdfast/shared';

/** Every setting of the ingest service, parsed once at start (see README, Configuration). */
export const ingestEnv = z.object({
  ...commonEnv,
  ...workerEnv,
  ...metricsPort(9101),
  ...replyEnv,
  ...durabilityEnv(100),
});
export type IngestConfig = z.infer<typeof ingestEnv>;
