/**
 * REDIS_WAIT_REPLICAS in the reserver: after a batch's decisions and before its entries are
 * acked (and the next batch read), wait until the shard's replicas have the decisions
 * (packages/shared/src/durability.ts). While replicas keep up, a failover can then lose at most
 * the batch in hand of each lane instead of whatever replication lag had piled up.
 *
 * Fewer replicas than asked within REDIS_WAIT_TIMEOUT_MS: the batch is acked anyway, with a
 * warning and `holdfast_redis_wait_total{result="short"}`. Its outcomes are already written and
 * readable; holding the acks would not take them back, and stopping decisions because a
 * replica lags would turn a replica's trouble into an outage. The wait itself slows the shard to
 * one batch per timeout while a replica lags, which keeps the unreplicated part small.
 */
import type { EntryResult, Logger, ReplicaWait, StreamEntry } from '@holdfast/shared';

export async function waitAfterDecisions(
  replicas: ReplicaWait,
  entries: StreamEntry[],
  results: EntryResult[],
  log: Logger,
): Promise<void> {
  if (!replicas.enabled) return;
  const ids = entries.filter((_, i) => results[i]?.kind === 'ack').map((e) => e.id);
  try {
    const r = await replicas.wait(ids);
    if (r.result === 'short') replicas.warnShort(log, r, 'acking the batch anyway');
  } catch (err) {
    // A failover under way: the acks that follow fail too (the entries come back, deduped by
    // the gate) or go to the new primary. Either way nothing is gained by failing the batch.
    log.warn({ err }, 'could not wait for Redis replicas; acking the batch anyway');
  }
}
