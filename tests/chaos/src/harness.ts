/**
 * What every scenario shares: a stage (Redis + MySQL, shared with an isolated namespace and
 * database, or the scenario's own private servers), the fleets it runs, the traffic record,
 * the invariant sampler, waiting for a quiet fleet, recovery timing, the CLI, the result row.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { REPO_ROOT } from '@holdfast/shared';
import { HOLDFAST_BIN, isolatedEnv, waitFor, type IsolatedEnv } from '@holdfast/testkit';
// Brings the vitest ProvidedContext typing (redisUrl, mysqlUrl) into this package's tsc run.
import type {} from '@holdfast/testkit/global-setup';
import { ChaosFleet, type ChaosFleetOptions } from './fleet.js';
import { Traffic, producerClient } from './load.js';
import { InvariantSampler } from './sampler.js';
import {
  MariaDbServer,
  RedisServer,
  type MariaDbOptions,
  type RedisServerOptions,
} from './servers.js';
import {
  check,
  failures,
  groupBacklog,
  names,
  readAll,
  summary,
  type CheckOptions,
  type CheckResult,
} from './checker.js';
import { countsOf, writeRow } from './report.js';

export { REPO_ROOT };
export const CLI = HOLDFAST_BIN;

/** Short timings so crashes are noticed and claimed within seconds. */
export const FAST: Record<string, string> = {
  CLAIM_IDLE_MS: '1500',
  HOUSEKEEPING_MS: '500',
  BLOCK_MS: '200',
  SWEEP_INTERVAL_MS: '200',
  HOLD_DEFAULT_SECONDS: '4',
  HOLD_MAX_SECONDS: '10',
  HOLD_MAX_TOTAL_SECONDS: '20',
  RECONCILE_INTERVAL_MS: '1000',
  RETRY_MAX_MS: '1000',
  SHUTDOWN_TIMEOUT_MS: '10000',
  LOG_LEVEL: 'info',
};

export { sleep };

/** `waitFor` with the chaos suite's longer defaults, positional. */
export function until<T>(
  probe: () => Promise<T | false | undefined | null> | T | false | undefined | null,
  what: string | (() => string),
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  return waitFor(probe, { what, timeoutMs, intervalMs });
}

export interface StageOptions {
  /** Run the scenario's own redis-server (true or options) instead of the shared one. */
  privateRedis?: boolean | RedisServerOptions;
  /** Run the scenario's own MariaDB instead of the shared one. */
  privateMysql?: boolean | MariaDbOptions;
  /** With privateMysql: connect as this user (created with this password) instead of root. */
  mysqlUser?: { user: string; password: string };
}

/** Incrementally follows checkout:outcomes:{main} and checkout:dead (reset() after a Redis crash). */
export class Tracker {
  readonly outcomeEvents = new Set<string>();
  readonly deadSources = new Set<string>();
  private outCursor = '-';
  private deadCursor = '-';
  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
  ) {}
  reset(): void {
    this.outcomeEvents.clear();
    this.deadSources.clear();
    this.outCursor = '-';
    this.deadCursor = '-';
  }
  async poll(): Promise<void> {
    const n = names(this.namespace);
    for (;;) {
      const page = (await this.redis.xrange(
        n.outcomes,
        this.outCursor,
        '+',
        'COUNT',
        5000,
      )) as Array<[string, string[]]>;
      for (const [, f] of page) {
        const i = f.indexOf('event_id');
        if (i >= 0 && i % 2 === 0) this.outcomeEvents.add(f[i + 1]!);
      }
      if (page.length) this.outCursor = `(${page[page.length - 1]![0]}`;
      if (page.length < 5000) break;
    }
    for (;;) {
      const page = (await this.redis.xrange(n.dead, this.deadCursor, '+', 'COUNT', 5000)) as Array<
        [string, string[]]
      >;
      for (const [, f] of page) {
        let stream = '';
        let id = '';
        for (let i = 0; i + 1 < f.length; i += 2) {
          if (f[i] === 'source_stream' && !stream) stream = f[i + 1]!;
          if (f[i] === 'source_id' && !id) id = f[i + 1]!;
        }
        this.deadSources.add(`${stream}|${id}`);
      }
      if (page.length) this.deadCursor = `(${page[page.length - 1]![0]}`;
      if (page.length < 5000) break;
    }
  }
}

/**
 * Runs one scenario: makes its stage, runs it, writes a FAIL row if it throws before writing
 * its own, and always cleans up (fleets stopped, private servers killed, temp dirs removed).
 */
export async function scenario(
  id: string,
  title: string,
  opts: StageOptions,
  body: (stage: Stage) => Promise<void>,
): Promise<void> {
  const t0 = Date.now();
  let stage: Stage | undefined;
  try {
    stage = await Stage.create(opts);
    await body(stage);
  } catch (err) {
    if (!stage?.rowWritten) {
      writeRow({
        id,
        scenario: title,
        sent: stage
          ? stage.traffic.events.size + stage.traffic.admin.size + stage.traffic.raw.length
          : null,
        lost: null,
        doubled: null,
        oversold: stage?.sampler?.violations.length ?? null,
        recoverMs: null,
        notes: `error: ${String((err as Error).message ?? err)
          .split('\n')[0]!
          .slice(0, 300)}`,
        passed: false,
        durationMs: Date.now() - t0,
      });
    }
    throw err;
  } finally {
    await stage?.cleanup();
  }
}

export class Stage {
  readonly fleets: ChaosFleet[] = [];
  readonly traffic: Traffic;
  readonly tracker: Tracker;
  sampler: InvariantSampler | undefined;
  private readonly cleanups: Array<() => Promise<unknown>> = [];
  readonly startedAt = Date.now();
  rowWritten = false;

  private constructor(
    readonly namespace: string,
    readonly redisUrl: string,
    readonly mysqlUrl: string,
    /** The test's own connection (checker, admin commands). */
    readonly redis: Redis,
    readonly redisServer: RedisServer | undefined,
    readonly mysqlServer: MariaDbServer | undefined,
    readonly database: string,
  ) {
    this.traffic = new Traffic(producerClient(redisUrl, 'chaos-traffic'), namespace);
    this.tracker = new Tracker(redis, namespace);
  }

  static async create(opts: StageOptions = {}): Promise<Stage> {
    let shared: IsolatedEnv | undefined;
    let redisServer: RedisServer | undefined;
    let mysqlServer: MariaDbServer | undefined;
    const id = randomBytes(4).toString('hex');
    let namespace = `chaos${id}:`;
    let redisUrl: string;
    let mysqlUrl: string;
    let database = `hf_chaos_${id}`;
    if (!opts.privateRedis || !opts.privateMysql)
      shared = await isolatedEnv({ mysql: !opts.privateMysql });
    if (opts.privateRedis) {
      redisServer = await RedisServer.start(opts.privateRedis === true ? {} : opts.privateRedis);
      redisUrl = redisServer.url;
    } else {
      redisUrl = shared!.redisUrl;
      namespace = shared!.namespace;
    }
    if (opts.privateMysql) {
      mysqlServer = await MariaDbServer.start(opts.privateMysql === true ? {} : opts.privateMysql);
      if (opts.mysqlUser) {
        const { user, password } = opts.mysqlUser;
        await mysqlServer.query(
          `CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
        );
        await mysqlServer.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
        await mysqlServer.query(`GRANT ALL PRIVILEGES ON ${database}.* TO ?@?`, [user, '%']);
        mysqlUrl = mysqlServer.url(database, user, password);
      } else {
        mysqlUrl = mysqlServer.url(database);
      }
    } else {
      mysqlUrl = shared!.mysqlUrl;
      database = new URL(mysqlUrl).pathname.slice(1);
    }
    const redis = producerClient(redisUrl, 'chaos-checker');
    const stage = new Stage(
      namespace,
      redisUrl,
      mysqlUrl,
      redis,
      redisServer,
      mysqlServer,
      database,
    );
    if (shared) stage.cleanups.push(() => shared!.cleanup());
    if (redisServer) stage.cleanups.push(() => redisServer!.cleanup());
    if (mysqlServer) stage.cleanups.push(() => mysqlServer!.cleanup());
    return stage;
  }

  log(what: string): void {
    console.log(`[chaos] +${((Date.now() - this.startedAt) / 1000).toFixed(1)} s ${what}`);
  }

  /** The services' environment: this stage's servers and namespace, fast timings, extras. */
  env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
      REDIS_URL: this.redisUrl,
      MYSQL_URL: this.mysqlUrl,
      HOLDFAST_NAMESPACE: this.namespace,
      ...FAST,
      ...extra,
    };
  }

  async fleet(
    opts: Omit<ChaosFleetOptions, 'env'> & { env?: Record<string, string | undefined> },
  ): Promise<ChaosFleet> {
    let f: ChaosFleet;
    try {
      f = await ChaosFleet.start({ ...opts, env: this.env(opts.env) });
    } catch (err) {
      // Sources edited since the build (a developer at work): rebuild once and go on.
      if ((err as Error).name !== 'BuildMissingError') throw err;
      this.log(`${(err as Error).message}: rebuilding`);
      const r = spawnSync('pnpm', ['run', 'build'], {
        cwd: REPO_ROOT,
        stdio: 'inherit',
        timeout: 600_000,
      });
      if (r.status !== 0) throw err;
      f = await ChaosFleet.start({ ...opts, env: this.env(opts.env) });
    }
    this.fleets.push(f);
    return f;
  }

  /** Restocks SKUs (admin events, recorded) and waits until Redis has them. */
  async arm(skus: Record<string, number>, tag = 'arm'): Promise<void> {
    await this.traffic.sendAdmin(
      Object.entries(skus).map(([sku, qty]) => ({
        eventId: `${tag}-${sku}`,
        type: 'restock' as const,
        sku,
        qty,
      })),
    );
    const n = names(this.namespace);
    await until(async () => {
      const p = this.redis.pipeline();
      for (const sku of Object.keys(skus)) p.hget(n.stock(sku), 'total');
      const res = (await p.exec()) ?? [];
      return res.every(([, v]) => v !== null);
    }, 'SKUs armed');
  }

  startSampler(intervalMs = 250): InvariantSampler {
    this.sampler = new InvariantSampler(
      this.redis,
      this.namespace,
      this.mysqlUrl,
      intervalMs,
    ).start();
    return this.sampler;
  }

  /** Every event sent so far has an outcome (or its entry a dead letter). */
  async accounted(
    eventIds?: Iterable<string>,
  ): Promise<{ ok: boolean; missing: number; examples: string[] }> {
    await this.tracker.poll();
    const ns = this.traffic.streams;
    let missing = 0;
    const examples: string[] = [];
    const ids = eventIds ?? this.traffic.events.keys();
    for (const id of ids) {
      if (this.tracker.outcomeEvents.has(id)) continue;
      const e = this.traffic.events.get(id);
      if (!e) continue; // abandoned meanwhile
      if (e.ids.some((x) => this.tracker.deadSources.has(`${ns.events}|${x}`))) continue;
      missing++;
      if (examples.length < 5) examples.push(`event ${id} (${e.ids.join(',')})`);
    }
    for (const x of this.traffic.raw) {
      if (this.tracker.deadSources.has(`${x.stream}|${x.id}`)) continue;
      if (x.eventId !== undefined && this.tracker.outcomeEvents.has(x.eventId)) continue;
      if (
        x.eventId !== undefined &&
        this.traffic.raw.some((y) => y.eventId === x.eventId && y.id < x.id)
      )
        continue;
      missing++;
      if (examples.length < 5)
        examples.push(
          `raw ${x.kind} ${x.stream}|${x.id} event_id ${JSON.stringify(x.eventId)?.slice(0, 60)}`,
        );
    }
    return { ok: missing === 0, missing, examples };
  }

  /**
   * Waits for a quiet fleet: everything sent accounted for, every consumer group drained, and
   * (unless openHolds) every hold finished. Returns when it got there.
   */
  async quiesce(opts: { timeoutMs?: number; openHolds?: boolean } = {}): Promise<number> {
    const n = names(this.namespace);
    let stable = 0;
    let lastState = '';
    await until(
      async () => {
        const a = await this.accounted();
        const backlog = await groupBacklog(this.redis, this.namespace);
        const open = opts.openHolds ? 0 : await this.redis.zcard(n.holdsDue);
        lastState = `missing outcomes ${a.missing} (${a.examples.join('; ')}), open holds ${open}, backlog ${backlog.join('; ') || 'none'}`;
        if (a.ok && !backlog.length && open === 0) stable++;
        else stable = 0;
        return stable >= 2;
      },
      'a quiet fleet',
      opts.timeoutMs ?? 120_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message} (${lastState})`);
    });
    return Date.now();
  }

  /**
   * Times the recovery from a fault that ended at `faultEndAt`: until every event sent before
   * then has an outcome and the ledger-writer has committed every ledger entry that existed
   * then. Runs in the background; await the promise for the ms.
   */
  recovery(faultEndAt = Date.now(), timeoutMs = 180_000): Promise<number> {
    const ids = [...this.traffic.events.keys()];
    const n = names(this.namespace);
    return (async () => {
      const info = (await this.redis.xinfo('STREAM', n.ledger).catch(() => null)) as
        unknown[] | null;
      let last = '0-0';
      if (info)
        for (let i = 0; i + 1 < info.length; i += 2)
          if (info[i] === 'last-generated-id') last = String(info[i + 1]);
      let state = '';
      await until(
        async () => {
          const a = await this.accounted(ids);
          state = `${a.missing} not accounted for, e.g. ${a.examples.join('; ')}; backlog ${(await groupBacklog(this.redis, this.namespace)).join('; ')}`;
          if (!a.ok) return false;
          return ledgerCaughtUp(this.redis, n.ledger, 'ledger-writer', last);
        },
        'recovery',
        timeoutMs,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message} (${state})`);
      });
      return Date.now() - faultEndAt;
    })();
  }

  async check(opts: Partial<CheckOptions> = {}): Promise<CheckResult> {
    return check({
      redis: this.redis,
      mysqlUrl: this.mysqlUrl,
      namespace: this.namespace,
      traffic: this.traffic,
      ...opts,
    });
  }

  /** Writes the result row; returns the failing categories (also sampled violations). */
  finish(
    id: string,
    scenario: string,
    r: CheckResult,
    extra: {
      recoverMs: number | null;
      notes: string;
      extraFailures?: Record<string, string[]>;
      lateExpiriesFail?: boolean;
      /** Counts shown instead of the checker's (e.g. events a Redis crash lost before re-send). */
      rowCounts?: Partial<{ lost: number; doubled: number; oversold: number }>;
      /** Fleets whose children the scenario kills (or starts to fail): their exits are expected. */
      crashingFleets?: ChaosFleet[];
    },
  ): Record<string, string[]> {
    this.rowWritten = true;
    const sampled = this.sampler?.violations ?? [];
    // Any other child that exited on its own, or logged at fatal level, is a failure.
    const excused = new Set(extra.crashingFleets ?? []);
    const crashes: string[] = [];
    for (const fl of this.fleets) {
      if (excused.has(fl)) continue;
      for (const c of fl.crashes)
        crashes.push(`${fl.opts.name} ${c.child} exited (${c.code ?? c.signal})`);
      for (const l of fl.fatal) crashes.push(`${fl.opts.name} ${l.child}: ${l.line.slice(0, 200)}`);
    }
    const f: Record<string, string[]> = {
      ...failures(r, { lateExpiriesFail: !!extra.lateExpiriesFail }),
      ...(crashes.length ? { unexpectedCrashes: crashes.slice(0, 10) } : {}),
      ...(extra.extraFailures ?? {}),
    };
    if (sampled.length) f.sampledOversold = sampled.slice(0, 10);
    for (const [k, v] of Object.entries(f)) if (!v.length) delete f[k];
    const passed = Object.keys(f).length === 0;
    writeRow({
      id,
      scenario,
      ...countsOf(r, sampled),
      ...extra.rowCounts,
      recoverMs: extra.recoverMs,
      notes: extra.notes,
      passed,
      durationMs: Date.now() - this.startedAt,
    });
    // Unstructured stderr output (not pino JSON) by service: worth knowing, not a failure.
    const noise = new Map<string, { n: number; first: string }>();
    for (const fl of this.fleets) {
      for (const l of fl.lines) {
        if (l.stream !== 'stderr' || l.line.startsWith('{') || l.line.startsWith('HOLDFAST_FAULT'))
          continue;
        const svc = l.child.replace(/#\d+$/, '');
        const e = noise.get(svc) ?? { n: 0, first: l.line.slice(0, 120) };
        e.n++;
        noise.set(svc, e);
      }
    }
    if (noise.size) {
      console.log(
        `[chaos] ${id} non-JSON stderr lines: ${[...noise].map(([k, v]) => `${k} ${v.n} (first: ${JSON.stringify(v.first)})`).join('; ')}`,
      );
    }
    console.log(
      `[chaos] ${id} check: ${summary(r)}; sampler ${this.sampler?.samples ?? 0} Redis / ${this.sampler?.mysqlSamples ?? 0} MySQL samples`,
    );
    if (!passed) console.log(`[chaos] ${id} failures: ${JSON.stringify(f, null, 2)}`);
    return f;
  }

  async cleanup(): Promise<void> {
    await this.sampler?.stop().catch(() => {});
    await Promise.allSettled(this.fleets.map((f) => f.stop()));
    this.traffic.redis.disconnect();
    this.redis.disconnect();
    for (const c of this.cleanups.reverse())
      await c().catch((err) => console.warn(`cleanup: ${String(err)}`));
  }
}

/** No consumer group of the pipeline has pending or undelivered entries. */
export async function groupBacklogEmpty(stage: Stage): Promise<boolean> {
  return (await groupBacklog(stage.redis, stage.namespace)).length === 0;
}

function cmpId(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/** The group has delivered past `lastId` and holds no pending entry at or below it. */
export async function ledgerCaughtUp(
  redis: Redis,
  stream: string,
  group: string,
  lastId: string,
): Promise<boolean> {
  if (lastId === '0-0') return true;
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  for (const g of groups) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) o[String(g[i])] = g[i + 1];
    if (o.name !== group) continue;
    if (cmpId(String(o['last-delivered-id']), lastId) < 0) return false;
    if (Number(o.pending) === 0) return true;
    const s = (await redis.xpending(stream, group)) as [number, string, string, unknown];
    return cmpId(s[1], lastId) > 0;
  }
  return false;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `holdfast` CLI with the stage's environment. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<CliResult> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(REDIS_URL|MYSQL_URL|HOLDFAST_|METRICS_PORT|CONSUMER_NAME)/.test(k))
      continue;
    base[k] = v;
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
  base.NO_COLOR = '1';
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: base,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`holdfast ${args.join(' ')} timed out; ${stdout} ${stderr}`));
    }, timeoutMs);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Root connection helper for a stage's MySQL (the test's own queries). */
export async function mysqlQuery(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<unknown> {
  const c = await createConnection(url);
  try {
    const [rows] = await c.query(sql, params);
    return rows;
  } finally {
    await c.end();
  }
}

export { readAll, names, groupBacklog };
