/**
 * REDIS_WAIT_REPLICAS in the ledger-writer: a batch goes to MySQL only once the shard's
 * replicas have its ledger entries (packages/shared/src/durability.ts), so MySQL never holds a
 * change a promoted replica lacks. Without it, a failover can leave MySQL ahead of Redis — books
 * for decisions Redis no longer knows — which only `holdfast reconcile --compensate` undoes.
 *
 * The fence before the WAIT is an XCLAIM of the batch's entries on the shard's node: XREADGROUP
 * replicates after the entries it delivered, and so does this XCLAIM, so once it is
 * acknowledged the replicas have the entries. Its reply also tells which entries the node still
 * has: after a failover, entries read from the old primary that the new one never got are
 * missing there, and are not committed (they are gone from Redis; MySQL must not have them).
 *
 * Fewer replicas than asked within REDIS_WAIT_TIMEOUT_MS: the batch is held back (a warning and
 * `holdfast_redis_wait_total{result="short"}` each time) and waited for again. Holding the
 * ledger back costs nothing a buyer sees (the reconciler counts entries in flight), and it is
 * bounded: a replica that stays unreachable is marked `fail` by the cluster after its node
 * timeout and no longer waited on (on a single Redis: dropped by the primary after
 * repl-timeout), and a primary with no replica is not waited on at all.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger, ReplicaWait } from '@holdfast/shared';

/**
 * The stream ids of `ids` that may be committed now; null when the service is stopping (the
 * batch is given back).
 */
export async function replicatedEntries(
  replicas: ReplicaWait,
  ids: string[],
  log: Logger,
  stopped: () => boolean,
): Promise<Set<string> | null> {
  if (!replicas.enabled) return new Set(ids);
  for (let errors = 0; !stopped();) {
    try {
      const r = await replicas.wait(ids);
      if (r.result !== 'short') {
        const missing = ids.length - r.present.size;
        if (missing) {
          log.warn({ missing }, 'ledger entries no longer on the shard’s primary: not committed');
        }
        return r.present;
      }
      replicas.warnShort(log, r, 'holding the ledger batch back from MySQL');
      errors = 0;
    } catch (err) {
      // A failover under way (the node is down until its replica is promoted): try again.
      errors++;
      const wait = Math.min(2_000, 50 * 2 ** Math.min(errors, 6));
      log.warn({ err, wait }, 'could not wait for Redis replicas; retrying');
      await sleep(wait);
    }
  }
  return null;
}
