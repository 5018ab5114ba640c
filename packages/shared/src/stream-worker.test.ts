/**
 * The names and fields the stream worker's dead-lettering uses (no servers; the script itself
 * runs in tests/shared/test/lua/dead-letter.test.ts and on a Cluster in
 * tests/shared/test/cluster/dead-letter-on-cluster.test.ts): a marker lives in its dead
 * stream's Cluster slot, and a dead letter fits the script's unpack.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEAD_MAX_PAIRS,
  deadLetterFields,
  deadSeenKey,
  deadSeenPrefix,
  originalFields,
  workerSettings,
} from './stream-worker.js';

/** Redis Cluster's slot of a key: CRC16 (XMODEM) of its hashed part, mod 16384. */
function slotOf(key: string): number {
  let part = key;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) part = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(part)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('dead-letter markers', () => {
  it('are named under the namespace, hash-tagged with the dead stream', () => {
    expect(deadSeenPrefix('tabc:', 'tabc:checkout:dead')).toBe(
      'tabc:hf:dead-seen:{tabc:checkout:dead}:',
    );
    expect(deadSeenKey('tabc:', 'tabc:checkout:dead', 'tabc:hf:{s1}:in', '1-0')).toBe(
      'tabc:hf:dead-seen:{tabc:checkout:dead}:tabc:hf:{s1}:in:1-0',
    );
    expect(deadSeenKey('', 'checkout:dead', 'checkout:events', '5-2')).toBe(
      'hf:dead-seen:{checkout:dead}:checkout:events:5-2',
    );
  });

  it('live in the slot of their dead stream, whatever the names', () => {
    expect(slotOf('123456789')).toBe(0x31c3 % 16384); // the CRC16 check value Redis documents
    const name = fc.stringMatching(/^[a-z0-9:{}.-]{1,24}$/);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9:]{0,8}$/), name, name, (ns, dead, source) => {
        let prefix: string;
        try {
          prefix = deadSeenPrefix(ns, dead);
        } catch {
          // Refused only for a name with no hash tag of its own that holds a '}'.
          expect(dead).toContain('}');
          return;
        }
        expect(prefix.startsWith(ns)).toBe(true);
        expect(slotOf(`${prefix}${source}:1-0`)).toBe(slotOf(dead));
      }),
    );
  });

  it('refuses a namespace with braces', () => {
    expect(() => deadSeenPrefix('a{b}:', 'a{b}:checkout:dead')).toThrow(/namespace/);
  });

  it('take the namespace and the dedupe window from the service settings', () => {
    const base = {
      BATCH_SIZE: 1,
      BLOCK_MS: 1,
      CLAIM_IDLE_MS: 1,
      MAX_DELIVERIES: 1,
      DLQ_MAX_VALUE_BYTES: 64,
      CONSUMER_IDLE_MS: 1,
      HOUSEKEEPING_MS: 1,
    };
    expect(
      workerSettings({ ...base, HOLDFAST_NAMESPACE: 'n:', DEDUPE_TTL_SECONDS: 60 }),
    ).toMatchObject({ namespace: 'n:', deadSeenTtlSeconds: 60 });
  });
});

describe('deadLetterFields', () => {
  it(`keeps at most ${DEAD_MAX_PAIRS} pairs and marks the rest as truncated`, () => {
    const fields = Array.from({ length: 10_000 }, (_, i) => [`f${i}`, `v${i}`]).flat();
    const out = deadLetterFields('s', { id: '1-0', fields, deliveries: 1 }, 'r', 'd');
    expect(out.length).toBeLessThanOrEqual(DEAD_MAX_PAIRS * 2);
    expect(out.slice(-2)).toEqual(['truncated', '1']);
    const orig = originalFields(out);
    expect(orig).toEqual(fields.slice(0, orig.length));
    expect(orig.length).toBeGreaterThan(DEAD_MAX_PAIRS * 2 - 20);
  });

  it('keeps every pair of an ordinary entry', () => {
    const fields = Array.from({ length: 100 }, (_, i) => [`f${i}`, `v${i}`]).flat();
    const out = deadLetterFields('s', { id: '1-0', fields, deliveries: 2 }, 'r', 'd');
    expect(out).not.toContain('truncated');
    expect(originalFields(out)).toEqual(fields);
  });
});
