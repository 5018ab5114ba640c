/**
 * Where the benchmark runs: server URLs, a fresh Redis namespace / MySQL database per run, the
 * machine's description and its load while the benchmark runs (the box is shared).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { Keys, createRedis, parseEnv, toFields, type Redis } from '@holdfast/shared';
import { createMysqlPool, type RowDataPacket } from '@holdfast/shared/mysql';
import { gateConfig, reserverEnv } from '@holdfast/reserver';

export function randomId(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The reserver's own gate configuration, with its defaults (C runs exactly what A runs). */
export function defaultGateConfig() {
  return gateConfig(parseEnv(reserverEnv, {}));
}

/** `mysql://…/<db>` on the same server as `url`. */
export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function createDatabase(serverUrl: string, db: string): Promise<string> {
  const c = createMysqlPool(serverUrl, { database: null, connectionLimit: 1 });
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await c.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await c.end();
  }
  return withDatabase(serverUrl, db);
}

export async function dropDatabase(serverUrl: string, db: string): Promise<void> {
  const c = createMysqlPool(serverUrl, { database: null, connectionLimit: 1 });
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${db}\``);
  } finally {
    await c.end();
  }
}

/** Deletes every key of a namespace (SCAN + UNLINK, never KEYS: the server is shared). */
export async function deleteNamespace(r: Redis, namespace: string): Promise<void> {
  if (!namespace) throw new Error('refusing to delete the empty namespace');
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length) await r.unlink(...keys);
  } while (cursor !== '0');
}

/** A fresh namespace (and its Keys) for one run. */
export function freshNamespace(tag: string): { namespace: string; keys: Keys } {
  const namespace = `bench-${tag}-${randomId()}:`;
  return { namespace, keys: new Keys(namespace, 'main') };
}

/** Redis server clock in ms (the clock of stream ids and of the Lua scripts' `at`). */
export async function redisNowMs(r: Redis): Promise<number> {
  const [s, us] = await r.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

function flatToObject(flat: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = flat[i + 1];
  return o;
}

/**
 * A stream is drained for a group when the group has nothing pending and was delivered the
 * stream's last entry (not relying on XINFO's `lag`, which Redis leaves empty after trims).
 * Returns the number of entries still to do (pending + undelivered estimate), 0 when drained.
 */
export async function groupBacklog(r: Redis, stream: string, group: string): Promise<number> {
  const info = flatToObject((await r.xinfo('STREAM', stream).catch(() => [])) as unknown[]);
  const lastId = String(info['last-generated-id'] ?? '0-0');
  const groups = (await r.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  for (const g of groups) {
    const gi = flatToObject(g);
    if (gi.name !== group) continue;
    const pending = Number(gi.pending ?? 0);
    const delivered = String(gi['last-delivered-id'] ?? '0-0');
    const lag = gi.lag === null || gi.lag === undefined ? null : Number(gi.lag);
    if (delivered === lastId) return pending;
    return pending + Math.max(1, lag ?? 1);
  }
  // No group yet: everything in the stream is still to do.
  return Number(info.length ?? 0);
}

/** INFO commandstats as { cmd: { calls, usec } }. */
export async function commandStats(
  r: Redis,
): Promise<Record<string, { calls: number; usec: number }>> {
  const text = await r.info('commandstats');
  const out: Record<string, { calls: number; usec: number }> = {};
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) out[m[1]!] = { calls: Number(m[2]), usec: Number(m[3]) };
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
  before: Record<string, { calls: number; usec: number }>,
  after: Record<string, { calls: number; usec: number }>,
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
  const raw = (await r.slowlog('GET', 128)) as Array<[number, number, number, string[]]>;
  return raw
    .filter((e) => e[1] >= sinceSec && e[3].some((a) => String(a).includes(namespace)))
    .map((e) => ({ at: e[1], usec: e[2], command: e[3].slice(0, 4).map(String).join(' ') }));
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  totalMemMb: number;
  node: string;
  platform: string;
  redisVersion: string;
  /** INFO server process_id of the Redis the benchmark uses. */
  redisPid: number | undefined;
  mysqlVersion: string;
  mysql: Record<string, string>;
  redis: Record<string, string>;
}

export async function machineInfo(redisUrl: string, mysqlServerUrl: string): Promise<MachineInfo> {
  const r = createRedis(redisUrl, { name: 'bench-info' });
  let redisVersion = '';
  let redisPid: number | undefined;
  const redis: Record<string, string> = {};
  try {
    const server = toFieldsFromInfo(await r.info('server'));
    redisVersion = server.redis_version ?? '';
    redisPid = server.process_id ? Number(server.process_id) : undefined;
    for (const k of ['appendonly', 'appendfsync', 'save']) {
      const v = (await r.config('GET', k)) as string[];
      redis[k] = v[1] ?? '';
    }
  } finally {
    r.disconnect();
  }
  const c = createMysqlPool(mysqlServerUrl, { database: null, connectionLimit: 1 });
  let mysqlVersion = '';
  const mysql: Record<string, string> = {};
  try {
    const [[v]] = (await c.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
    mysqlVersion = v.v;
    const [rows] = await c.query<RowDataPacket[]>(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_flush_log_at_trx_commit',
        'innodb_buffer_pool_size', 'sync_binlog', 'log_bin', 'max_connections',
        'transaction_isolation', 'tx_isolation', 'innodb_lock_wait_timeout')`,
    );
    for (const row of rows) mysql[String(row.Variable_name)] = String(row.Value);
  } finally {
    await c.end();
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    totalMemMb: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    redisVersion,
    redisPid,
    mysqlVersion,
    mysql,
    redis,
  };
}

function toFieldsFromInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

export { toFields };

/** The checkout measured: HEAD commit and how many tracked files differ from it. */
export function gitState(root: string): { commit: string; modifiedFiles: number } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      encoding: 'utf8',
    });
    return { commit, modifiedFiles: status.split('\n').filter(Boolean).length };
  } catch {
    return null;
  }
}

/** os.loadavg() sampled every few seconds for the whole benchmark. */
export class LoadSampler {
  readonly samples: Array<{ at: string; load1: number; load5: number; load15: number }> = [];
  private timer: NodeJS.Timeout | undefined;

  start(everyMs = 5_000): void {
    this.take();
    this.timer = setInterval(() => this.take(), everyMs);
    this.timer.unref();
  }

  take(): [number, number, number] {
    const [a, b, c] = loadavg() as [number, number, number];
    this.samples.push({ at: new Date().toISOString(), load1: a, load5: b, load15: c });
    return [a, b, c];
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.take();
  }

  summary() {
    const l1 = this.samples.map((s) => s.load1);
    const r2 = (v: number) => Math.round(v * 100) / 100;
    return {
      cpus: cpus().length,
      load1: {
        min: r2(Math.min(...l1)),
        max: r2(Math.max(...l1)),
        mean: r2(l1.reduce((a, b) => a + b, 0) / Math.max(1, l1.length)),
      },
      atStart: this.samples[0] ?? null,
      atEnd: this.samples[this.samples.length - 1] ?? null,
    };
  }
}

/** Current 1/5/15-minute load averages, rounded. */
export function loadNow(): [number, number, number] {
  return loadavg().map((v) => Math.round(v * 100) / 100) as [number, number, number];
}
