/**
 * dlq list + replay round trip on real Redis: a dead letter made exactly as the workers make
 * them (deadLetterFields), replayed onto its source stream once and only once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys, createRedis, deadLetterFields, type Redis } from '@holdfast/shared';
import { isolatedEnv, type IsolatedEnv } from '@holdfast/testkit';
import { HOLDFAST_BIN, commandLine, json } from '@holdfast/testkit';

const { run: runCli } = commandLine(HOLDFAST_BIN);

describe('holdfast dlq', () => {
  let env: IsolatedEnv;
  let redis: Redis;
  let keys: Keys;

  beforeAll(async () => {
    env = await isolatedEnv({ mysql: false });
    keys = new Keys(env.namespace, 'main');
    redis = createRedis(env.redisUrl, { name: 'test' });
  });
  afterAll(async () => {
    redis.disconnect();
    await env.cleanup();
  });

  async function deadLetter(
    stream: string,
    fields: string[],
    reason = 'unknown_sku',
  ): Promise<string> {
    const f = deadLetterFields(
      stream,
      { id: '1700000000000-7', fields, deliveries: 1 },
      reason,
      'SKU "NOPE" is unknown',
    );
    return (await redis.xadd(keys.streams.dead, '*', ...f))!;
  }

  // Includes a field named like dead-letter metadata: stored as original.reason, replayed as reason.
  const ORIGINAL = [
    'type',
    'reserve',
    'event_id',
    'e-1',
    'checkout_id',
    'c-1',
    'user_id',
    'u-1',
    'sku',
    'NOPE',
    'qty',
    '1',
    'reason',
    'gift',
  ];

  it('lists dead letters with reason, source and original fields', async () => {
    const id = await deadLetter(keys.streams.events, ORIGINAL);
    const r = await runCli(['dlq', 'list', '--json'], env.env);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out.total).toBe(1);
    expect(out.deadLetters).toEqual([
      {
        id,
        reason: 'unknown_sku',
        detail: 'SKU "NOPE" is unknown',
        source_stream: keys.streams.events,
        source_id: '1700000000000-7',
        deliveries: 1,
        truncated: false,
        original: [
          ['type', 'reserve'],
          ['event_id', 'e-1'],
          ['checkout_id', 'c-1'],
          ['user_id', 'u-1'],
          ['sku', 'NOPE'],
          ['qty', '1'],
          ['reason', 'gift'],
        ],
      },
    ]);
    const table = await runCli(['dlq', 'list'], env.env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(id);
    expect(table.stdout).toContain('type=reserve event_id=e-1');
    const none = await runCli(['dlq', 'list', '--reason', 'max_deliveries', '--json'], env.env);
    expect(json(none).deadLetters).toEqual([]);
  });

  it('replays a dead letter onto its source stream exactly once', async () => {
    const entries = (await redis.xrange(keys.streams.dead, '-', '+')) as Array<[string, string[]]>;
    const id = entries[0]![0];
    const dry = await runCli(['dlq', 'replay', id, '--dry-run'], env.env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would replay/);
    expect(await redis.xlen(keys.streams.events)).toBe(0);

    const r = await runCli(['dlq', 'replay', id], env.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`replayed ${id} → ${keys.streams.events} \\d+-\\d+`));
    const events = (await redis.xrange(keys.streams.events, '-', '+')) as Array<[string, string[]]>;
    expect(events).toHaveLength(1);
    expect(events[0]![1]).toEqual(ORIGINAL);
    expect(await redis.xrange(keys.streams.dead, id, id)).toEqual([]);

    const again = await runCli(['dlq', 'replay', id], env.env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no such dead letter/);
    expect(await redis.xlen(keys.streams.events)).toBe(1);
  });

  it('refuses other streams and truncated entries, replays the rest with --all', async () => {
    const other = await deadLetter(
      `${env.namespace}hf:{main}:in`,
      ['type', 'reserve'],
      'invalid_internal',
    );
    const truncated = await redis.xadd(
      keys.streams.dead,
      '*',
      ...deadLetterFields(
        keys.streams.events,
        { id: '1-1', fields: ['lines', 'x'.repeat(200)], deliveries: 1 },
        'too_large',
        'big',
        64,
      ),
    );
    const admin = await deadLetter(
      keys.streams.admin,
      ['type', 'restock', 'event_id', 'a-1', 'sku', 'S', 'qty', '1'],
      'max_deliveries',
    );

    const r = await runCli(['dlq', 'replay', '--all', '--json'], env.env);
    expect(r.code).toBe(1);
    const byId = Object.fromEntries(
      json(r).results.map((x: { id: string; status: string }) => [x.id, x.status]),
    );
    expect(byId).toEqual({ [other]: 'refused', [truncated!]: 'refused', [admin]: 'replayed' });
    const adminEntries = (await redis.xrange(keys.streams.admin, '-', '+')) as Array<
      [string, string[]]
    >;
    expect(adminEntries.map((e) => e[1])).toEqual([
      ['type', 'restock', 'event_id', 'a-1', 'sku', 'S', 'qty', '1'],
    ]);
    const left = (
      (await redis.xrange(keys.streams.dead, '-', '+')) as Array<[string, string[]]>
    ).map((e) => e[0]);
    expect(left).toEqual([other, truncated]);
  });

  it('rejects ambiguous selections with exit 2', async () => {
    for (const args of [
      ['dlq', 'replay'],
      ['dlq', 'replay', '1-1', '--all'],
      ['dlq', 'replay', 'nope'],
      ['dlq', 'list', '--limit', '0'],
    ]) {
      const r = await runCli(args, env.env);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });
});
