/**
 * `holdfast dlq list` and `holdfast dlq replay`: read checkout:dead, and send dead letters'
 * original fields back to their source stream.
 *
 * A replay re-adds the original entry to its source stream and deletes the dead letter in one
 * atomic step (a small Lua script: check the dead letter still exists, XADD, XDEL), so two
 * concurrent replays of one dead letter can't both send it.
 */
import { originalFields, type Redis } from '@holdfast/shared';
import type { Context } from '@holdfast/shared/tools';
import { CliError, EXIT, usageError } from '@holdfast/shared/tools';
import { clip, renderTable } from '../table.js';

export interface DeadLetter {
  id: string;
  reason: string;
  detail: string;
  source_stream: string;
  source_id: string;
  deliveries: number | null;
  truncated: boolean;
  /** The original entry's field/value pairs, in order. */
  original: Array<[string, string]>;
}

function meta(flat: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

export function parseDeadLetter(id: string, flat: string[]): DeadLetter {
  const orig = originalFields(flat);
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < orig.length; i += 2) pairs.push([orig[i]!, orig[i + 1]!]);
  const deliveries = meta(flat, 'deliveries');
  return {
    id,
    reason: meta(flat, 'reason') ?? '',
    detail: meta(flat, 'detail') ?? '',
    source_stream: meta(flat, 'source_stream') ?? '',
    source_id: meta(flat, 'source_id') ?? '',
    deliveries: deliveries === undefined ? null : Number(deliveries),
    truncated: meta(flat, 'truncated') === '1',
    original: pairs,
  };
}

export function preview(d: DeadLetter, max = 60): string {
  return clip(d.original.map(([k, v]) => `${k}=${v}`).join(' '), max);
}

/** Dead letters oldest first, optionally of one reason, at most `limit`. */
export async function readDeadLetters(
  redis: Redis,
  stream: string,
  opts: { limit?: number; reason?: string } = {},
): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  const limit = opts.limit ?? Infinity;
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(stream, start, '+', 'COUNT', 1000)) as Array<
      [string, string[]]
    >;
    for (const [id, flat] of page) {
      const d = parseDeadLetter(id, flat);
      if (opts.reason !== undefined && d.reason !== opts.reason) continue;
      out.push(d);
      if (out.length >= limit) return out;
    }
    if (page.length < 1000) return out;
    start = `(${page[page.length - 1]![0]}`;
  }
}

export async function dlqList(
  ctx: Context,
  opts: { limit: number; reason?: string; json?: boolean },
  out: (s: string) => void,
): Promise<number> {
  const redis = await ctx.redis();
  const stream = ctx.keys.streams.dead;
  const [letters, total] = await Promise.all([
    readDeadLetters(redis, stream, {
      limit: opts.limit,
      ...(opts.reason !== undefined && { reason: opts.reason }),
    }),
    redis.xlen(stream),
  ]);
  if (opts.json) {
    out(JSON.stringify({ stream, total, deadLetters: letters }, null, 2));
    return EXIT.ok;
  }
  if (!letters.length) {
    out(
      `no dead letters${opts.reason ? ` with reason ${opts.reason}` : ''} (${stream} holds ${total})`,
    );
    return EXIT.ok;
  }
  out(
    renderTable(
      ['id', 'reason', 'detail', 'source', 'original'],
      letters.map((d) => [
        d.id,
        d.reason,
        clip(d.detail, 50),
        `${d.source_stream} ${d.source_id}`,
        (d.truncated ? '[truncated] ' : '') + preview(d),
      ]),
    ),
  );
  out(`${letters.length} shown, ${total} in ${stream}`);
  return EXIT.ok;
}

/**
 * KEYS 1 dead stream  2 target stream
 * ARGV 1 dead letter id  2.. original field/value pairs
 * Returns the new entry id, or false when the dead letter is gone (already replayed).
 */
const REPLAY_LUA = `
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return false end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
`;

export interface ReplayResult {
  id: string;
  status: 'replayed' | 'would_replay' | 'missing' | 'refused';
  target?: string;
  newId?: string;
  why?: string;
  preview?: string;
}

export async function dlqReplay(
  ctx: Context,
  ids: string[],
  opts: { all?: boolean; reason?: string; dryRun?: boolean; json?: boolean },
  out: (s: string) => void,
  warn: (s: string) => void,
): Promise<number> {
  if (opts.all && ids.length) throw usageError('give dead letter ids or --all, not both');
  if (!opts.all && !ids.length) throw usageError('nothing selected: give dead letter ids or --all');
  if (opts.reason !== undefined && !opts.all) throw usageError('--reason selects with --all only');
  for (const id of ids) if (!/^\d+-\d+$/.test(id)) throw usageError(`not a stream entry id: ${id}`);

  const redis = await ctx.redis();
  const keys = ctx.keys;
  const dead = keys.streams.dead;
  const allowed = new Set([keys.streams.events, keys.streams.admin]);

  const selected: Array<DeadLetter | string> = [];
  if (opts.all) {
    selected.push(
      ...(await readDeadLetters(
        redis,
        dead,
        opts.reason !== undefined ? { reason: opts.reason } : {},
      )),
    );
  } else {
    for (const id of ids) {
      const e = (await redis.xrange(dead, id, id)) as Array<[string, string[]]>;
      selected.push(e.length ? parseDeadLetter(e[0]![0], e[0]![1]) : id);
    }
  }

  const results: ReplayResult[] = [];
  for (const d of selected) {
    if (typeof d === 'string') {
      results.push({ id: d, status: 'missing', why: 'no such dead letter (already replayed?)' });
      continue;
    }
    const base = { id: d.id, target: d.source_stream, preview: preview(d) };
    if (!allowed.has(d.source_stream)) {
      results.push({
        ...base,
        status: 'refused',
        why: `source stream ${JSON.stringify(d.source_stream)} is not a public input stream (${[...allowed].join(', ')})`,
      });
      continue;
    }
    if (d.truncated) {
      results.push({
        ...base,
        status: 'refused',
        why: 'its original values were truncated; a replay would send altered data',
      });
      continue;
    }
    if (!d.original.length) {
      results.push({ ...base, status: 'refused', why: 'it has no original fields' });
      continue;
    }
    if (opts.dryRun) {
      results.push({ ...base, status: 'would_replay' });
      continue;
    }
    const newId = (await redis.eval(
      REPLAY_LUA,
      2,
      dead,
      d.source_stream,
      d.id,
      ...d.original.flat(),
    )) as string | null;
    if (newId === null)
      results.push({ ...base, status: 'missing', why: 'already replayed by someone else' });
    else results.push({ ...base, status: 'replayed', newId });
  }

  if (opts.json) out(JSON.stringify({ dryRun: !!opts.dryRun, results }, null, 2));
  else {
    for (const r of results) {
      if (r.status === 'replayed') out(`replayed ${r.id} → ${r.target} ${r.newId}: ${r.preview}`);
      else if (r.status === 'would_replay') out(`would replay ${r.id} → ${r.target}: ${r.preview}`);
      else warn(`${r.status === 'missing' ? 'skipped' : 'refused'} ${r.id}: ${r.why}`);
    }
    const n = (s: ReplayResult['status']) => results.filter((r) => r.status === s).length;
    out(
      opts.dryRun
        ? `dry run: would replay ${n('would_replay')}, refuse ${n('refused')}, missing ${n('missing')}`
        : `replayed ${n('replayed')}, refused ${n('refused')}, missing ${n('missing')}`,
    );
  }
  const problems = results.filter(
    (r) => r.status === 'refused' || (r.status === 'missing' && !opts.all),
  );
  if (problems.length)
    throw new CliError(`${problems.length} dead letter(s) not replayed (see above)`);
  return EXIT.ok;
}
