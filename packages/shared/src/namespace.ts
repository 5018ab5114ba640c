/**
 * Every Redis name of a deployment starts with its namespace (HOLDFAST_NAMESPACE, see keys.ts),
 * so a namespace can be dropped as a whole: tests, the demo and the benchmark each run in their
 * own and remove it afterwards.
 */
import type { Redis } from 'ioredis';

/** Deletes every key of a namespace (SCAN, never KEYS: the server is shared). */
export async function deleteNamespace(r: Redis, namespace: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await r.unlink(...keys);
  } while (cursor !== '0');
}
