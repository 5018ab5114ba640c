/**
 * deadLetter-2.lua (every stream worker) against a real Redis: a dead letter is written once per
 * source entry — a second call for the same entry (a redelivery after a crash before the ack)
 * writes nothing, also within one batch and across racing connections — its fields are kept
 * exactly, and its marker is the key deadSeenKey names, with the TTL asked for.
 */
import { describe, expect, it } from 'vitest';
import {
  DEAD_MAX_PAIRS,
  deadLetterFields,
  deadSeenKey,
  deadSeenPrefix,
  runScript,
  toFields,
  writeDeadLetters,
} from '@holdfast/shared';
import { fileEnv } from '@holdfast/testkit/gate';

const f = fileEnv();

/** A fresh namespace, dead stream and source stream on the file's Redis. */
function names() {
  const h = f.harness();
  const ns = h.keys.namespace;
  return { r: h.r, ns, dead: `${ns}checkout:dead`, source: `${ns}hf:{s1}:in` };
}

async function deadLetters(
  r: ReturnType<typeof names>['r'],
  dead: string,
): Promise<Array<[string, string[]]>> {
  return (await r.xrange(dead, '-', '+')) as Array<[string, string[]]>;
}

describe('deadLetter', () => {
  it('writes a dead letter once; the same entry again writes nothing', async () => {
    const { r, ns, dead, source } = names();
    const fields = ['reason', 'invalid_field', 'source_id', '1-0', 'x', '', 'é ✓ "q"', 'a\nb'];
    const call = () =>
      runScript<number[]>(
        r,
        'deadLetter',
        [dead, deadSeenPrefix(ns, dead)],
        [3_600, `${source}:1-0`, fields.length, ...fields],
      );
    expect(await call()).toEqual([1]);
    expect(await call()).toEqual([0]);
    const got = await deadLetters(r, dead);
    expect(got).toHaveLength(1);
    // Field names, order and values exactly as passed (empty values and newlines included).
    expect(got[0]![1]).toEqual(fields);
    // The marker: the key deadSeenKey names, under the namespace, with the TTL asked for.
    const marker = deadSeenKey(ns, dead, source, '1-0');
    expect(marker.startsWith(ns)).toBe(true);
    expect(await r.exists(marker)).toBe(1);
    const ttl = await r.ttl(marker);
    expect(ttl).toBeGreaterThan(3_500);
    expect(ttl).toBeLessThanOrEqual(3_600);
  });

  it('takes a whole batch in one call and answers per dead letter', async () => {
    const { r, ns, dead, source } = names();
    const other = `${ns}checkout:events`;
    const letter = (stream: string, id: string) => ({
      sourceStream: stream,
      entryId: id,
      fields: deadLetterFields(stream, { id, fields: ['n', id], deliveries: 1 }, 'r', 'd'),
    });
    expect(
      await writeDeadLetters(r, { namespace: ns, deadStream: dead }, [letter(source, '1-0')]),
    ).toEqual([true]);
    // 1-0 of `source` was written; 2-0 twice in one batch: the first wins; the same id on
    // another source stream is another entry.
    expect(
      await writeDeadLetters(r, { namespace: ns, deadStream: dead, ttlSeconds: 60 }, [
        letter(source, '2-0'),
        letter(source, '1-0'),
        letter(source, '2-0'),
        letter(other, '1-0'),
      ]),
    ).toEqual([true, false, false, true]);
    const got = (await deadLetters(r, dead)).map(([, fl]) => toFields(fl));
    expect(got.map((d) => [d.source_stream, d.source_id, d.n])).toEqual([
      [source, '1-0', '1-0'],
      [source, '2-0', '2-0'],
      [other, '1-0', '1-0'],
    ]);
    // Without a ttl, the default window (7 days).
    expect(await r.ttl(deadSeenKey(ns, dead, source, '1-0'))).toBeGreaterThan(7 * 86_400 - 100);
    expect(await r.ttl(deadSeenKey(ns, dead, source, '2-0'))).toBeLessThanOrEqual(60);
    expect(await writeDeadLetters(r, { namespace: ns, deadStream: dead }, [])).toEqual([]);
  });

  it('writes the largest dead letter deadLetterFields builds', async () => {
    const { r, ns, dead, source } = names();
    const fields = Array.from({ length: 20_000 }, (_, i) => [`f${i}`, `v${i}`]).flat();
    const dl = deadLetterFields(source, { id: '1-0', fields, deliveries: 1 }, 'r', 'd');
    expect(dl.length).toBe(DEAD_MAX_PAIRS * 2);
    expect(
      await writeDeadLetters(r, { namespace: ns, deadStream: dead }, [
        { sourceStream: source, entryId: '1-0', fields: dl },
      ]),
    ).toEqual([true]);
    expect((await deadLetters(r, dead))[0]![1]).toEqual(dl);
  });

  it('writes exactly once when several connections race on the same entries', async () => {
    const { r, ns, dead, source } = names();
    const ids = Array.from({ length: 20 }, (_, i) => `${i + 1}-0`);
    const results = await Promise.all(
      f.clients(4).map((c) =>
        writeDeadLetters(
          c,
          { namespace: ns, deadStream: dead },
          ids.map((id) => ({ sourceStream: source, entryId: id, fields: ['source_id', id] })),
        ),
      ),
    );
    for (let i = 0; i < ids.length; i++) expect(results.filter((res) => res[i]).length).toBe(1);
    const got = await deadLetters(r, dead);
    expect(got.map(([, fl]) => fl[1]).sort()).toEqual([...ids].sort());
  });
});
