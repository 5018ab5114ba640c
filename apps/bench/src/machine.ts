/**
 * The machine the benchmark runs on: its description (CPUs, Node, Redis and MySQL versions and
 * settings, the checkout measured) and its load while the benchmark runs (the box is shared).
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { createRedis } from '@holdfast/shared';
import { createMysqlPool, type RowDataPacket } from '@holdfast/shared/mysql';

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

/** `INFO` text as { field: value }. */
function infoFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

async function redisInfo(redisUrl: string) {
  const r = createRedis(redisUrl, { name: 'bench-info' });
  try {
    const server = infoFields(await r.info('server'));
    const redis: Record<string, string> = {};
    for (const k of ['appendonly', 'appendfsync', 'save']) {
      const v = (await r.config('GET', k)) as string[];
      redis[k] = v[1] ?? '';
    }
    return {
      redisVersion: server.redis_version ?? '',
      redisPid: server.process_id ? Number(server.process_id) : undefined,
      redis,
    };
  } finally {
    r.disconnect();
  }
}

async function mysqlInfo(mysqlServerUrl: string) {
  const c = createMysqlPool(mysqlServerUrl, { database: null, connectionLimit: 1 });
  try {
    const [[v]] = (await c.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
    const [rows] = await c.query<RowDataPacket[]>(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_flush_log_at_trx_commit',
        'innodb_buffer_pool_size', 'sync_binlog', 'log_bin', 'max_connections',
        'transaction_isolation', 'tx_isolation', 'innodb_lock_wait_timeout')`,
    );
    const mysql: Record<string, string> = {};
    for (const row of rows) mysql[String(row.Variable_name)] = String(row.Value);
    return { mysqlVersion: v.v, mysql };
  } finally {
    await c.end();
  }
}

export async function machineInfo(redisUrl: string, mysqlServerUrl: string): Promise<MachineInfo> {
  const { redisVersion, redisPid, redis } = await redisInfo(redisUrl);
  const { mysqlVersion, mysql } = await mysqlInfo(mysqlServerUrl);
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

  /** Takes a last sample and stops; once (a second call does nothing). */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
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
