/** Where Redis spent its time in a measurement window: INFO commandstats and SLOWLOG. */
import type { Redis } from '@holdfast/shared';

export type CommandStats = Record<string, { calls: number; usec: number }>;

/** The servers behind a client: itself, or every primary of a Redis Cluster. */
function servers(r: Redis): Redis[] {
  // ioredis' Cluster: one connection per node; `nodes('master')` are the primaries'.
  return r.isCluster ? (r as unknown as { nodes(role: 'master'): Redis[] }).nodes('master') : [r];
}

/** INFO commandstats as { cmd: { calls, usec } }, summed over a Cluster's primaries. */
export async function commandStats(r: Redis): Promise<CommandStats> {
  const out: CommandStats = {};
  for (const node of servers(r)) {
    const text = await node.info('commandstats');
    for (const line of text.split('\n')) {
      const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
      if (!m) continue;
      const c = (out[m[1]!] ??= { calls: 0, usec: 0 });
      c.calls += Number(m[2]);
      c.usec += Number(m[3]);
    }
  }
  return out;
}

export interface CommandStatDiff {
  command: string;
  calls: number;
  usec: number;
  usecPerCall: number;
  /** Share of the Redis main thread's command time in the window. */
  share: number;
}

/** Commands that used Redis' time between two INFO commandstats snapshots, largest first. */
export function diffCommandStats(
  before: CommandStats,
  after: CommandStats,
  top = 12,
): CommandStatDiff[] {
  const rows: CommandStatDiff[] = [];
  let total = 0;
  for (const [cmd, a] of Object.entries(after)) {
    const b = before[cmd] ?? { calls: 0, usec: 0 };
    const calls = a.calls - b.calls;
    const usec = a.usec - b.usec;
    if (calls <= 0) continue;
    total += usec;
    rows.push({
      command: cmd,
      calls,
      usec,
      usecPerCall: Math.round((usec / calls) * 10) / 10,
      share: 0,
    });
  }
  for (const r of rows) r.share = total ? Math.round((r.usec / total) * 1000) / 1000 : 0;
  return rows.sort((x, y) => y.usec - x.usec).slice(0, top);
}

/** SLOWLOG entries logged since `sinceSec` (unix s) that touch `namespace`. */
export async function slowlogSince(r: Redis, sinceSec: number, namespace: string) {
  const raw: Array<[number, number, number, string[]]> = [];
  for (const node of servers(r))
    raw.push(...((await node.slowlog('GET', 128)) as Array<[number, number, number, string[]]>));
  return raw
    .filter((e) => e[1] >= sinceSec && e[3].some((a) => String(a).includes(namespace)))
    .map((e) => ({ at: e[1], usec: e[2], command: e[3].slice(0, 4).map(String).join(' ') }));
}
