/**
 * `holdfast demo`: the flash-sale simulation (docs/demo.md).
 *
 *   1. migrate MySQL; arm the promo through inventory:admin (HOT-1, WARM-1..N, per-user limits);
 *   2. start the fleet (all four services, child logs to <out>/demo-<ts>/fleet.log);
 *   3. replay the crowd (runCrowd: producers XADD reserves, follow-ups confirm/cancel/abandon);
 *   4. show live progress and sample the series every 250 ms;
 *   5. wait until every abandoned hold expired and every stream drained, reconcile, check every
 *      invariant of the contract;
 *   6. write report.json and report.html; 7. stop the fleet; exit 0 iff every invariant holds.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ConfigError, redactUrl, type Redis } from '@holdfast/shared';
import { createMysqlPool, type Pool, type RowDataPacket } from '@holdfast/shared/mysql';
import { drained, mysqlLedgerCounts, readAllStock, readMysqlStock } from '@holdfast/shared/inspect';
import { runCrowd, type CrowdResult } from '@holdfast/crowd';
import { reconcileAll } from '@holdfast/reconciler';
import { connectRedis } from '@holdfast/shared/tools';
import { CliError, EXIT, errorMessage } from '@holdfast/shared/tools';
import { startFleet, type Fleet, type FleetEvent } from '@holdfast/fleet';
import { demandOf, makeCart, userCount } from './crowd.js';
import { EventTap, OutcomeTap, Sampler } from './monitor.js';
import { CommanderError, parseDemoArgs, type DemoOptions } from './options.js';
import { createProgress, type ProgressView } from './progress.js';
import { buildReport, type DemoReport } from './report.js';
import { renderHtml } from './html.js';
import { renderText } from './text.js';
import {
  armPromo,
  checkNamespaceEmpty,
  prepareDatabase,
  promoApplied,
  promoEntries,
  resolveTarget,
  timestamp,
  type DemoTarget,
} from './setup.js';

export type { DemoReport } from './report.js';
export type { DemoOptions } from './options.js';

const SAMPLE_MS = 250;
const SWEEP_INTERVAL_MS = 250;
/** No decision and no stream movement for this long while work is outstanding: give up. */
const STALL_MS = 60_000;

class Interrupted extends Error {
  override name = 'Interrupted';
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      res();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** Rejects with Interrupted when `signal` aborts first. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Interrupted());
  return new Promise<T>((res, rej) => {
    const onAbort = () => rej(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), res(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), rej(e)),
    );
  });
}

/** The demo's whole run; every resource it opens is closed by close(). */
class DemoRun {
  private readonly ac = new AbortController();
  private fleet: Fleet | undefined;
  private fleetLog: WriteStream | undefined;
  private redis: Redis | undefined;
  private pool: Pool | undefined;
  private tap: EventTap | undefined;
  private outcomes: OutcomeTap | undefined;
  private sampler: Sampler | undefined;
  private progress: ProgressView | undefined;
  fatal: Error | undefined;
  private shownEnv: Record<string, string> = {};
  private loadAvgAtStart: number[] = [];
  private interrupted = false;
  private target: DemoTarget | undefined;

  constructor(
    private readonly o: DemoOptions,
    private readonly out: (s: string) => void,
    private readonly err: (s: string) => void,
  ) {}

  private say(line: string): void {
    if (this.progress) this.progress.log(line);
    else this.out(line);
  }

  private check(): void {
    if (this.fatal) throw this.fatal;
    if (this.ac.signal.aborted) throw new Interrupted();
  }

  /** Polls `probe` until true; fails on interrupt, a fatal fleet event, or `timeoutMs`. */
  private async until(
    probe: () => Promise<boolean>,
    what: string,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.check();
      if (await probe()) return;
      if (Date.now() > deadline)
        throw new CliError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await sleep(100, this.ac.signal);
    }
  }

  onSignal = () => {
    if (!this.interrupted) {
      this.interrupted = true;
      this.say('\ninterrupted: stopping the crowd and the fleet (Ctrl-C again to kill at once)…');
      this.ac.abort();
      return;
    }
    this.fleet?.kill();
    process.exit(130);
  };

  async run(): Promise<number> {
    const t0 = Date.now();
    this.loadAvgAtStart = loadavg();
    const stamp = timestamp(new Date(t0));
    const o = this.o;
    let target: DemoTarget;
    try {
      target = resolveTarget(stamp);
    } catch (e) {
      if (e instanceof ConfigError) {
        this.err(`holdfast demo: ${e.message.replace(/:\n\s*/, ': ').replace(/\n\s*/g, '; ')}`);
        return EXIT.usage;
      }
      throw e;
    }
    this.target = target;
    const dir = resolve(o.out, `demo-${stamp}`);
    const rel = (p: string) => {
      const r = relative(process.cwd(), p);
      return r && !r.startsWith('..') ? r : p;
    };
    const files = {
      json: join(dir, 'report.json'),
      html: join(dir, 'report.html'),
      log: join(dir, 'fleet.log'),
    };

    this.out(
      `holdfast demo: ${o.buyers.toLocaleString('en-US')} buyers against ${redactUrl(target.redisUrl)} and ${redactUrl(target.mysqlUrl)}`,
    );
    this.out(
      target.ownNamespace
        ? `  Redis namespace "${target.namespace}" (fresh for this demo; ${o.keep ? 'kept afterwards (--keep)' : 'deleted afterwards, --keep keeps it'})`
        : `  Redis namespace "${target.namespace}" (from HOLDFAST_NAMESPACE; must be empty; kept afterwards)`,
    );
    this.out(
      target.recreateDatabase
        ? `  MySQL database "${target.database}" (dropped and recreated for this demo)`
        : `  MySQL database "${target.database}" (from MYSQL_URL; must have no books)`,
    );
    this.out(`  report and fleet logs: ${rel(dir)}/`);

    // ── 1. MySQL, Redis, the promo
    this.redis = await connectRedis(target.redisUrl);
    await checkNamespaceEmpty(this.redis, target);
    await prepareDatabase(target);
    this.check();
    mkdirSync(dir, { recursive: true });
    const promo = promoEntries(o, stamp);
    await armPromo(this.redis, target, promo);
    this.out(
      `armed the promo on ${target.keys.streams.admin}: HOT-1 ${o.hotUnits} units (limit 2), WARM-1..${o.warmSkus} ${o.warmUnits} units each (limit 5)`,
    );

    // ── 2. the fleet
    this.fleetLog = createWriteStream(files.log, { flags: 'a' });
    const fleetEnv: Record<string, string | undefined> = {
      REDIS_URL: target.redisUrl,
      MYSQL_URL: target.mysqlUrl,
      HOLDFAST_NAMESPACE: target.namespace,
      HOLDFAST_SHARD: target.shard,
      // Free ports: the demo can run next to a `holdfast fleet` on the default ones.
      METRICS_PORT: '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      RECONCILE_INTERVAL_MS: '1000',
      HOLD_DEFAULT_SECONDS: String(o.holdSeconds),
      HOLD_MIN_SECONDS: String(o.holdSeconds),
      SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
      // Every outcome stays readable for the checks (the namespace is the demo's own).
      OUTCOMES_MAXLEN: '0',
      CONSUMER_NAME: undefined,
    };
    this.shownEnv = Object.fromEntries(
      Object.entries(fleetEnv).filter(
        ([k, v]) => v !== undefined && !/URL|NAMESPACE|SHARD/.test(k),
      ),
    ) as Record<string, string>;
    this.out(
      `starting the fleet: ${o.replicas} × ingest, reserver, ledger-writer, reconciler (logs: ${rel(files.log)})`,
    );
    const log = this.fleetLog;
    this.fleet = startFleet({
      replicas: o.replicas,
      env: fleetEnv,
      onLine: ({ child, line }) => void log.write(`[${child.name}] ${line}\n`),
      onEvent: (e) => this.onFleetEvent(e),
    });
    await abortable(this.fleet.ready(90_000), this.ac.signal);
    await this.until(
      () => promoApplied(this.redis!, target, promo),
      'the reserver to apply the promo',
      60_000,
    );
    const tSetup = Date.now();

    // ── 3./4. the crowd, watched
    const cart = makeCart({ buyers: o.buyers, warmSkus: o.warmSkus });
    const users = userCount(o.buyers);
    this.tap = new EventTap(target.redisUrl, target.keys);
    await this.tap.start();
    this.outcomes = new OutcomeTap(target.redisUrl, target.keys);
    this.outcomes.start();
    let sent = 0;
    const fleet = this.fleet;
    this.sampler = new Sampler(
      {
        redis: this.redis,
        keys: target.keys,
        outcomes: this.outcomes,
        events: this.tap,
        sent: () => sent,
        ledgerWriterPorts: () =>
          fleet.children
            .filter((c) => c.service === 'ledger-writer' && c.metricsPort)
            .map((c) => c.metricsPort!),
      },
      Date.now(),
      SAMPLE_MS,
    );
    this.out(
      `replaying the crowd: ${o.buyers.toLocaleString('en-US')} buyers (${users.toLocaleString('en-US')} users) from ${o.producers} producers` +
        `${o.rate ? ` at ${o.rate.toLocaleString('en-US')} buyers/s` : ' at full speed'}; 60% confirm, 20% cancel, 20% abandon (expire after ${o.holdSeconds} s)`,
    );
    this.progress = createProgress({ enabled: o.progress, buyers: o.buyers, out: this.out });
    let warnedBehind = false;
    this.sampler.onSample((s) => {
      this.progress?.update(s);
      // Events waiting longer than about half a hold: confirms will start to miss their holds.
      const behind = o.rate
        ? s.eventBacklog > Math.max(2_000, (o.rate * o.holdSeconds) / 2)
        : false;
      if (behind && !warnedBehind) {
        warnedBehind = true;
        this.say(
          `warning: the fleet is falling behind (${s.eventBacklog.toLocaleString('en-US')} events waiting); ` +
            'confirms may arrive after their holds expired — a lower --rate suits this machine (see docs/demo.md)',
        );
      }
    });
    const crowdAc = new AbortController();
    const stopCrowd = () => crowdAc.abort();
    this.ac.signal.addEventListener('abort', stopCrowd, { once: true });
    const crowdStart = Date.now();
    this.sampler.start();
    let sendDoneAt = 0;
    const crowdP = runCrowd({
      redisUrl: target.redisUrl,
      keys: target.keys,
      checkouts: o.buyers,
      cart,
      users,
      confirmRate: 0.6,
      cancelRate: 0.2,
      producers: o.producers,
      ratePerSec: o.rate,
      chunk: 250,
      idPrefix: 'b',
      onSent: (n) => {
        sent = n;
        if (n >= o.buyers && !sendDoneAt) sendDoneAt = Date.now();
      },
      signal: crowdAc.signal,
    });
    const crowd = await this.watch(crowdP, crowdAc);
    if (!sendDoneAt) sendDoneAt = Date.now();
    const tCrowd = Date.now();
    this.say(
      `crowd done in ${((tCrowd - crowdStart) / 1000).toFixed(1)} s: ${crowd.sent.toLocaleString('en-US')} reserves, ` +
        `${crowd.followUps.toLocaleString('en-US')} follow-ups; waiting for abandoned holds to expire and the ledger to drain…`,
    );

    // ── 5. settle: holds expired, every stream drained
    await this.settle();
    const tSettled = Date.now();
    await this.sampler.stop();
    this.progress.stop();
    this.progress = undefined;
    await this.outcomes.finish();
    const eventsSeen = this.tap.count;
    await this.tap.stop();

    this.out('checking the invariants…');
    const report = await this.collect({
      t0,
      target,
      crowd,
      crowdStart,
      sendDoneAt,
      users,
      promo,
      eventsSeen,
      durations: { setupMs: tSetup - t0, crowdMs: tCrowd - tSetup, settleMs: tSettled - tCrowd },
    });

    // ── 7. stop the fleet (before printing: the report is complete)
    const stopped = await this.fleet.stop();
    report.fleet.killedOnStop = stopped.killed;
    report.fleet.restarts = Object.fromEntries(
      this.fleet.children.map((c) => [c.name, c.restarts]),
    );
    this.fleet = undefined;
    report.target.namespaceDeleted = target.ownNamespace && !o.keep;

    // ── 6. the report
    await writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(files.html, renderHtml(report));
    this.out(
      renderText(report, { html: rel(files.html), json: rel(files.json), log: rel(files.log) }),
    );
    if (stopped.killed)
      this.err(`warning: ${stopped.killed} fleet child(ren) did not stop in time and were killed`);
    return report.ok ? EXIT.ok : EXIT.failed;
  }

  private onFleetEvent(e: FleetEvent): void {
    const name = 'child' in e ? e.child.name : 'fleet';
    this.fleetLog?.write(
      `[supervisor] ${JSON.stringify({ event: e.type, child: name, ...('code' in e ? { code: e.code, signal: e.signal } : {}) })}\n`,
    );
    if (e.type === 'exit' && !this.fleet?.stopping) {
      this.say(
        `warning: ${name} exited (${e.signal ?? `code ${e.code}`}); the supervisor restarts it — see fleet.log`,
      );
    }
    if (e.type === 'gave-up') {
      this.fatal = new CliError(`${name} failed: ${e.reason} (see fleet.log)`);
      this.ac.abort();
    }
  }

  /** Awaits the crowd; aborts it when nothing moves for STALL_MS. */
  private async watch(
    crowdP: Promise<CrowdResult>,
    crowdAc: AbortController,
  ): Promise<CrowdResult> {
    let lastKey = '';
    let lastMove = Date.now();
    let stalled = false;
    const timer = setInterval(() => {
      const key = `${this.outcomes!.count}/${this.tap!.count}`;
      if (key !== lastKey) {
        lastKey = key;
        lastMove = Date.now();
      } else if (Date.now() - lastMove > STALL_MS) {
        stalled = true;
        crowdAc.abort();
      }
    }, 1_000);
    try {
      const res = await crowdP;
      this.check();
      if (stalled)
        throw new CliError(
          `the fleet stalled: no event or decision for ${STALL_MS / 1000} s (see fleet.log)`,
        );
      return res;
    } finally {
      clearInterval(timer);
    }
  }

  /** Waits until no hold is active and every stream is drained (nothing moving = stall). */
  private async settle(): Promise<void> {
    const redis = this.redis!;
    const target = this.target!;
    const sk = target.keys.shard();
    let lastKey = '';
    let lastMove = Date.now();
    for (;;) {
      this.check();
      const [holds, done, tapLag] = await Promise.all([
        redis.zcard(sk.holdsDue),
        drained(redis, target.keys),
        this.tap!.lag(redis),
      ]);
      if (holds === 0 && done && tapLag === 0) return;
      const s = this.sampler!.latest();
      const key = `${holds}/${this.outcomes!.count}/${s?.ledgerLag}/${s?.eventBacklog}`;
      if (key !== lastKey) {
        lastKey = key;
        lastMove = Date.now();
      } else if (Date.now() - lastMove > STALL_MS) {
        throw new CliError(
          `the fleet stalled while settling (${holds} active holds, streams drained: ${done}); see fleet.log`,
        );
      }
      await sleep(100, this.ac.signal);
    }
  }

  /** Reads the end state from Redis and MySQL and builds the report. */
  private async collect(x: {
    t0: number;
    target: DemoTarget;
    crowd: CrowdResult;
    crowdStart: number;
    sendDoneAt: number;
    users: number;
    promo: ReturnType<typeof promoEntries>;
    eventsSeen: number;
    durations: { setupMs: number; crowdMs: number; settleMs: number };
  }): Promise<DemoReport> {
    const tChecks = Date.now();
    const { target } = x;
    const redis = this.redis!;
    this.pool = createMysqlPool(target.mysqlUrl, {
      connectionLimit: 2,
      applicationName: 'holdfast-demo',
    });
    const pool = this.pool;
    const sk = target.keys.shard();
    const [redisStock, mysqlStock, mysqlLedger, reconcile, deadLetters, activeHolds] =
      await Promise.all([
        readAllStock(redis, target.keys),
        readMysqlStock(target.mysqlUrl),
        mysqlLedgerCounts(target.mysqlUrl),
        reconcileAll(redis, pool, target.keys),
        redis.xlen(target.keys.streams.dead),
        redis.zcard(sk.holdsDue),
      ]);
    const p = redis.pipeline();
    for (const r of redisStock) p.hget(sk.stock(r.sku), 'per_user');
    const perUserRes = (await p.exec()) ?? [];
    const perUser = new Map(redisStock.map((r, i) => [r.sku, Number(perUserRes[i]?.[1] ?? 0)]));
    const [inc] = await pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM ledger_incidents WHERE resolved_at IS NULL',
    );
    const [last] = await pool.query<RowDataPacket[]>(
      'SELECT ROUND(UNIX_TIMESTAMP(MAX(written_at)) * 1000) AS t FROM inventory_ledger',
    );
    const lastCommitAt = last[0]?.t === null || last[0]?.t === undefined ? null : Number(last[0].t);
    const adminByKind: Record<string, number> = {};
    for (const e of x.promo) adminByKind[e.type] = (adminByKind[e.type] ?? 0) + 1;
    const armed = new Map<string, number>();
    for (const e of x.promo)
      if (e.type === 'restock') armed.set(e.sku, (armed.get(e.sku) ?? 0) + Number(e.qty));
    const o = this.o;
    const sampler = this.sampler!;
    const outcomes = this.outcomes!;
    return buildReport({
      options: o,
      loadAvgAtStart: this.loadAvgAtStart,
      startedAt: x.t0,
      target: {
        redis: redactUrl(target.redisUrl),
        mysql: redactUrl(target.mysqlUrl),
        namespace: target.namespace,
        namespaceDeleted: false,
        database: target.database,
        databaseRecreated: target.recreateDatabase,
        shard: target.shard,
      },
      fleet: { replicas: o.replicas, env: this.shownEnv, restarts: {}, killedOnStop: 0 },
      crowd: x.crowd,
      crowdStartedAt: x.crowdStart,
      sendDoneAt: x.sendDoneAt,
      users: x.users,
      demand: demandOf({ buyers: o.buyers, warmSkus: o.warmSkus }),
      adminByKind,
      armed,
      redisStock,
      perUser,
      mysqlStock,
      mysqlLedger,
      lastCommitAt,
      incidents: Number(inc[0]?.n ?? 0),
      deadLetters,
      activeHolds,
      outcomes,
      xaddMs: this.tap!.xaddMs,
      eventsSeen: x.eventsSeen,
      samples: sampler.samples,
      samplerT0: sampler.t0,
      sampleIntervalMs: SAMPLE_MS,
      sampleViolations: sampler.violations,
      stockSamples: sampler.stockSamples,
      hotSoldOutAt: sampler.hotSoldOutAt,
      audit: sampler.audit,
      reconcile,
      sweepIntervalMs: SWEEP_INTERVAL_MS,
      durations: { ...x.durations, checksMs: Date.now() - tChecks, totalMs: Date.now() - x.t0 },
    });
  }

  /** Closes everything still open; deletes the demo's own namespace unless --keep. */
  async close(): Promise<void> {
    this.progress?.stop();
    this.progress = undefined;
    await this.sampler?.stop().catch(() => {});
    await this.outcomes?.finish().catch(() => {});
    await this.tap?.stop().catch(() => {});
    if (this.fleet) {
      this.say('stopping the fleet…');
      await this.fleet.stop().catch(() => {});
    }
    await this.pool?.end().catch(() => {});
    const t = this.target;
    if (this.redis && t?.ownNamespace && !this.o.keep) {
      await deleteNamespace(this.redis, t.namespace).catch((e: unknown) =>
        this.err(
          `warning: could not delete the demo namespace "${t.namespace}": ${errorMessage(e)}`,
        ),
      );
    }
    await this.redis?.quit().catch(() => this.redis?.disconnect());
    await new Promise<void>((res) => (this.fleetLog ? this.fleetLog.end(res) : res()));
  }
}

/** Deletes every key of a namespace (SCAN + UNLINK, never KEYS). */
async function deleteNamespace(redis: Redis, namespace: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** Runs `holdfast demo` with its arguments; resolves with the exit code. */
export async function runDemo(argv: string[]): Promise<number> {
  const out = (s: string) => void process.stdout.write(`${s}\n`);
  const err = (s: string) => void process.stderr.write(`${s}\n`);
  let o: DemoOptions;
  try {
    o = parseDemoArgs(argv, {
      out: (s) => void process.stdout.write(s),
      err: (s) => void process.stderr.write(s),
    });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw e;
  }
  const run = new DemoRun(o, out, err);
  process.on('SIGINT', run.onSignal);
  process.on('SIGTERM', run.onSignal);
  try {
    return await run.run();
  } catch (caught) {
    let e = caught;
    if (e instanceof Interrupted && !run.fatal) return 130;
    if (e instanceof Interrupted && run.fatal) e = run.fatal;
    if (e instanceof CliError) {
      err(`holdfast demo: ${e.message}`);
      return e.exitCode;
    }
    err(`holdfast demo: ${errorMessage(e)}`);
    return EXIT.failed;
  } finally {
    await run.close();
    process.off('SIGINT', run.onSignal);
    process.off('SIGTERM', run.onSignal);
  }
}

/** The CLI's plugin entry (apps/cli/src/plugins.ts calls `run`). */
export const run = runDemo;
export default runDemo;
