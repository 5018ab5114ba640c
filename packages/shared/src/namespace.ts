/**
 * Every Redis name of a deployment starts with its namespace (HOLDFAST_NAMESPACE, see keys.ts),
 * so a namespace can be dropped as a whole: tests, the demo and the benchmark each run in their
 * own and remove it afterwards.
 */
import type { Cluster, Redis } from 'ioredis';

/**
 * Deletes every key of a namespace (SCAN, never KEYS: the server is shared). On a Redis Cluster
 * a SCAN only walks the node it is sent to, so every primary is scanned through its own
 * connection, and its keys are unlinked one per command (they span slots: a multi-key UNLINK
 * would fail with CROSSSLOT).
 */
export async function deleteNamespace(r: Redis, namespace: string): Promise<void> {
  if (!r.isCluster) return deleteOnNode(r, namespace, false);
  const primaries = (r as unknown as Cluster).nodes('master');
  await Promise.all(primaries.map((node) => deleteOnNode(node, namespace, true)));
}

async function deleteOnNode(r: Redis, namespace: string, oneKeyPerCall: boolean): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
    cursor = next;
    if (!keys.length) continue;
    if (!oneKeyPerCall) {
      await r.unlink(...keys);
      continue;
    }
    const p = r.pipeline();
    for (const k of keys) p.unlink(k);
    await p.exec();
  } while (cursor !== '0');
}
