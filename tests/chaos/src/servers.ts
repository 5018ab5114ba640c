/**
 * Private Redis and MariaDB servers for the scenarios that stop, crash or cut a server: the
 * local Redis (6379) and MariaDB (3306) are shared with other suites running at the same time
 * and are never touched here. Each server runs on a free port with its data in a temp dir that
 * cleanup() removes.
 *
 *   const redis = await RedisServer.start();            // AOF everysec, --dir <tmp>
 *   await redis.kill();   await redis.restart();         // SIGKILL, then reload from the AOF
 *   const db = await MariaDbServer.start();              // mariadb-install-db + mariadbd
 *   await db.stop();      await db.restart();
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createConnection, type Connection } from 'mysql2/promise';

/** A TCP port nobody listens on right now (bound to 127.0.0.1 and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => proc.once('exit', () => r()));
}

/** Every server started by this process, so a crashed test still cleans up. */
const live = new Set<{ cleanup(): Promise<void> }>();
process.once('exit', () => {
  for (const s of live) {
    const proc = (s as unknown as { proc?: ChildProcess }).proc;
    try {
      proc?.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

export interface RedisServerOptions {
  /** --requirepass */
  password?: string;
  /** appendfsync policy (default everysec). */
  appendfsync?: 'always' | 'everysec' | 'no';
}

export class RedisServer {
  proc: ChildProcess | undefined;
  /** Times the server was started (1 after start()). */
  starts = 0;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly opts: RedisServerOptions,
  ) {}

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'hf-chaos-redis-'));
    const s = new RedisServer(await freePort(), dir, opts);
    live.add(s);
    await s.launch();
    return s;
  }

  /** redis://[:password@]127.0.0.1:<port> */
  get url(): string {
    const auth = this.opts.password ? `:${encodeURIComponent(this.opts.password)}@` : '';
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get logFile(): string {
    return join(this.dir, 'redis.log');
  }

  private async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      this.opts.appendfsync ?? 'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
      '--logfile',
      this.logFile,
      '--maxmemory-policy',
      'noeviction',
    ];
    if (this.opts.password) args.push('--requirepass', this.opts.password);
    this.proc = spawn('redis-server', args, { stdio: 'ignore' });
    this.starts++;
    await this.waitReady();
  }

  /** A client on this server (caller disconnects). */
  client(name = 'chaos'): Redis {
    const c = new Redis(this.url, {
      connectionName: name,
      maxRetriesPerRequest: null,
      retryStrategy: (t) => Math.min(50 * t, 500),
      enableAutoPipelining: false,
    });
    c.on('error', () => {});
    return c;
  }

  private async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`redis-server exited; log: ${this.tail()}`);
      const c = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      c.on('error', () => {});
      try {
        await c.connect();
        // While the AOF loads, PING answers -LOADING.
        if ((await c.ping()) === 'PONG') return;
      } catch {
        /* not yet */
      } finally {
        c.disconnect();
      }
      if (Date.now() > deadline)
        throw new Error(`redis on ${this.port} not ready; log: ${this.tail()}`);
      await sleep(50);
    }
  }

  tail(n = 2000): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-n);
    } catch {
      return '';
    }
  }

  /** The AOF file Redis appends to now (Redis 7 multi-part AOF: the manifest's last `type i`). */
  aofIncrFile(): string | undefined {
    try {
      const manifest = readFileSync(
        join(this.dir, 'appendonlydir', 'appendonly.aof.manifest'),
        'utf8',
      );
      let file: string | undefined;
      for (const line of manifest.split('\n')) {
        const m = /^file (\S+) seq \d+ type i/.exec(line);
        if (m) file = m[1];
      }
      return file ? join(this.dir, 'appendonlydir', file) : undefined;
    } catch {
      return undefined;
    }
  }

  private aofSizes: Array<{ at: number; file: string; size: number }> = [];
  private aofTimer: NodeJS.Timeout | undefined;

  /** Records the AOF's size every `everyMs` (to emulate losing its unsynced tail later). */
  trackAof(everyMs = 50): void {
    clearInterval(this.aofTimer);
    this.aofTimer = setInterval(() => {
      const file = this.aofIncrFile();
      if (!file) return;
      try {
        this.aofSizes.push({ at: Date.now(), file, size: statSync(file).size });
        if (this.aofSizes.length > 2_000) this.aofSizes.splice(0, 500);
      } catch {
        /* being rewritten */
      }
    }, everyMs);
    this.aofTimer.unref();
  }

  /**
   * Emulates what a machine crash (power loss, kernel panic) does to an AOF with
   * `appendfsync everysec`: the pages written since the last fsync are gone. Truncates the
   * (stopped) server's AOF to the size it had at `at` — e.g. one second before the crash —
   * and returns how many bytes were cut (0 when the AOF was rewritten meanwhile).
   */
  truncateAofTo(at: number): number {
    if (this.running) throw new Error('stop or kill redis first');
    clearInterval(this.aofTimer);
    const file = this.aofIncrFile();
    const sample = [...this.aofSizes].reverse().find((x) => x.at <= at);
    if (!file || !sample || sample.file !== file) return 0;
    const now = statSync(file).size;
    if (sample.size >= now) return 0;
    truncateSync(file, sample.size);
    return now - sample.size;
  }

  /**
   * BGREWRITEAOF and wait for it: the AOF is rewritten from memory. After a restart from a
   * truncated AOF this removes a dangling partial MULTI that Redis < the fix for
   * valkey-io/valkey#4342 leaves in the file (see docs/chaos.md).
   */
  async rewriteAof(timeoutMs = 30_000): Promise<void> {
    const c = this.client('chaos-rewrite');
    try {
      await c.bgrewriteaof();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const info = await c.info('persistence');
        if (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)) return;
        if (Date.now() > deadline) throw new Error('BGREWRITEAOF did not finish');
        await sleep(50);
      }
    } finally {
      c.disconnect();
    }
  }

  /** Whether Redis reported loading a truncated AOF (and where it cut it) since it started. */
  truncationLog(): string[] {
    return this.tail(200_000)
      .split('\n')
      .filter((l) => /short read|Truncating the AOF|Revert incomplete MULTI/.test(l));
  }

  /** SIGKILL of the process: what Redis had written to the AOF survives in the page cache. */
  async kill(): Promise<void> {
    if (!this.proc || !this.running) return;
    this.proc.kill('SIGKILL');
    await exited(this.proc);
  }

  /** SIGTERM: Redis fsyncs the AOF and exits (nothing lost). */
  async stop(): Promise<void> {
    if (!this.proc || !this.running) return;
    this.proc.kill('SIGTERM');
    await exited(this.proc);
  }

  /** Starts it again on the same port and dir (reloads the AOF). */
  async restart(): Promise<void> {
    if (this.running) throw new Error('redis is running');
    await this.launch();
  }

  async cleanup(): Promise<void> {
    clearInterval(this.aofTimer);
    await this.kill();
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface MariaDbOptions {
  /** innodb_lock_wait_timeout (seconds) for every session. */
  lockWaitTimeout?: number;
}

/**
 * A private MariaDB (or MySQL) server: `mariadb-install-db --no-defaults` (the system my.cnf
 * would force user=mysql) into a temp datadir, root with normal password authentication and an
 * empty password, then `mariadbd --no-defaults` on a free port.
 */
export class MariaDbServer {
  proc: ChildProcess | undefined;
  starts = 0;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly opts: MariaDbOptions,
  ) {}

  static binaries() {
    const server = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/local/bin/mariadbd'].find(
      existsSync,
    );
    const install = [
      '/usr/bin/mariadb-install-db',
      '/usr/bin/mysql_install_db',
      '/usr/local/bin/mariadb-install-db',
    ].find(existsSync);
    return { server, install };
  }

  static available(): boolean {
    const b = MariaDbServer.binaries();
    return !!b.server && !!b.install;
  }

  static async start(opts: MariaDbOptions = {}): Promise<MariaDbServer> {
    const { install } = MariaDbServer.binaries();
    if (!install) throw new Error('mariadb-install-db not found');
    const dir = mkdtempSync(join(tmpdir(), 'hf-chaos-mariadb-'));
    const s = new MariaDbServer(await freePort(), dir, opts);
    live.add(s);
    const args = [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ];
    if (process.getuid?.() === 0) args.push('--user=root');
    const r = spawnSync(install, args, { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`mariadb-install-db failed (${r.status}): ${r.stdout}\n${r.stderr}`);
    }
    await s.launch();
    return s;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** mysql://<user>[:password]@127.0.0.1:<port>/<db> */
  url(db: string, user = 'root', password = ''): string {
    const auth = password
      ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}`
      : encodeURIComponent(user);
    return `mysql://${auth}@127.0.0.1:${this.port}/${db}`;
  }

  get errorLog(): string {
    return join(this.dir, 'error.log');
  }

  private async launch(): Promise<void> {
    const { server } = MariaDbServer.binaries();
    const args = [
      '--no-defaults',
      `--datadir=${join(this.dir, 'data')}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(this.dir, 'sock')}`,
      `--pid-file=${join(this.dir, 'pid')}`,
      `--log-error=${this.errorLog}`,
      '--skip-log-bin',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=64M',
      '--max-connections=500',
    ];
    if (this.opts.lockWaitTimeout)
      args.push(`--innodb-lock-wait-timeout=${this.opts.lockWaitTimeout}`);
    if (process.getuid?.() === 0) args.push('--user=root');
    this.proc = spawn(server!, args, { stdio: 'ignore' });
    this.starts++;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!this.running) throw new Error(`mariadbd exited: ${this.tail()}`);
      try {
        const c = await createConnection({
          host: '127.0.0.1',
          port: this.port,
          user: 'root',
          connectTimeout: 1000,
        });
        await c.end();
        return;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`mariadbd on ${this.port} not ready: ${this.tail()}`);
        await sleep(100);
      }
    }
  }

  tail(n = 3000): string {
    try {
      return readFileSync(this.errorLog, 'utf8').slice(-n);
    } catch {
      return '';
    }
  }

  /** A root connection (no database selected unless given). */
  async connect(database?: string): Promise<Connection> {
    return createConnection({
      host: '127.0.0.1',
      port: this.port,
      user: 'root',
      ...(database ? { database } : {}),
      supportBigNumbers: true,
    });
  }

  /** Runs one statement as root. */
  async query(sql: string, params: unknown[] = [], database?: string): Promise<unknown> {
    const c = await this.connect(database);
    try {
      const [rows] = await c.query(sql, params);
      return rows;
    } finally {
      await c.end();
    }
  }

  /** Clean shutdown (SIGTERM). */
  async stop(): Promise<void> {
    if (!this.proc || !this.running) return;
    this.proc.kill('SIGTERM');
    await exited(this.proc);
  }

  /** SIGKILL (InnoDB recovers on the next start). */
  async kill(): Promise<void> {
    if (!this.proc || !this.running) return;
    this.proc.kill('SIGKILL');
    await exited(this.proc);
  }

  async restart(): Promise<void> {
    if (this.running) throw new Error('mariadbd is running');
    await this.launch();
  }

  async cleanup(): Promise<void> {
    await this.kill();
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
