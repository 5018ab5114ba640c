/**
 * A real Redis Cluster on loopback — for tests, `holdfast demo --cluster` and the benchmark's
 * shard comparison: `redis-server --cluster-enabled yes` children on
 * free ports in a temp dir, joined with `redis-cli --cluster create`. Needs only Debian's
 * redis-server/redis-cli (7.0) on PATH, no Docker.
 *
 *   const cluster = await startRedisCluster(); // 3 primaries + 3 replicas
 *   const client = new Cluster(cluster.startupNodes);
 *   ...
 *   await cluster.stop(); // or stopRedisClusters() in a test file's afterAll
 *
 * The nodes are our children (not daemonized), so we own their pids: `stop()` ends them
 * (SIGTERM, SIGKILL after a deadline), waits for them, and removes the temp dir. Nothing is
 * left behind: a failed start stops what it started; `stopRedisClusters()` stops every cluster
 * of this process; a process 'exit' SIGKILLs what is still running; and each start reaps the
 * nodes of a process that died without any of that (vitest ends its workers with a signal),
 * from the `owner.json` each cluster keeps in its temp dir.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './wait-for.js';

export interface StartRedisClusterOptions {
  /** Primaries (at least 3, as redis-cli requires). Default 3. */
  primaries?: number;
  /** Replicas of each primary. Default 1. */
  replicasPerPrimary?: number;
  /** `--appendonly yes` on every node. Default false (no persistence at all). */
  appendonly?: boolean;
  /**
   * `--cluster-node-timeout` (ms): how long a primary may not answer before its replica takes
   * over. Default 5000, so a busy 2-core CI machine does not fail a node over by mistake; a
   * failover test passes a shorter one.
   */
  nodeTimeoutMs?: number;
}

export interface RedisClusterNode {
  host: '127.0.0.1';
  port: number;
  pid: number;
  /** The node's own directory (nodes.conf, redis.log, appendonly files). */
  dir: string;
}

export interface RedisCluster {
  /** Every node, primaries and replicas, in start order (a killed node stays listed). */
  readonly nodes: readonly RedisClusterNode[];
  /** For ioredis: `new Cluster(cluster.startupNodes)`. */
  readonly startupNodes: Array<{ host: string; port: number }>;
  /** `127.0.0.1:port,…` of every node, for a REDIS_CLUSTER_NODES variable. */
  readonly nodesEnv: string;
  /** The temp dir that holds every node's directory. */
  readonly dir: string;
  /** The node that serves `key`'s slot now (CLUSTER KEYSLOT + CLUSTER SLOTS on a live node). */
  primaryFor(key: string): Promise<RedisClusterNode>;
  /** Sends `signal` (default SIGKILL) to the node on `port` and waits until it has exited. */
  killNode(port: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Waits until one of the replicas the primary on `oldPrimaryPort` had is a primary and every
   * live node reports `cluster_state:ok` with all 16384 slots ok. `elapsedMs` counts from the
   * `killNode` of that port (from this call if it was not killed through `killNode`).
   */
  waitForFailover(
    oldPrimaryPort: number,
    timeoutMs?: number,
  ): Promise<{ primary: RedisClusterNode; elapsedMs: number }>;
  /** One command on the node at `port`, on a short-lived connection that never retries. */
  nodeCommand(port: number, ...args: Array<string | number>): Promise<unknown>;
  /** Ends every node, waits for them to exit and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const SLOTS = 16384;
/** Cluster nodes on 20000–22767, so their buses (port + 10000) are on 30000–32767: both below
 * Linux's ephemeral range (32768+), where outgoing connections would take ports at random. */
const PORT_MIN = 20000;
const PORT_SPAN = 2768;
const BUS_OFFSET = 10000;
const DIR_PREFIX = 'holdfast-redis-cluster-';
const NODE_TIMEOUT_MS = 5000;
const PING_TIMEOUT_MS = 10_000;
const CREATE_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_KILL_AFTER_MS = 5_000;
const POLL_MS = 50;
const START_ATTEMPTS = 5;

/** Clusters of this process that are not stopped yet. */
const live = new Set<ClusterProcesses>();
/** Ports handed to a node of this process (between the bind test and redis-server's bind). */
const taken = new Set<number>();

/** Stops every cluster this process started and has not stopped (a test file's afterAll). */
export async function stopRedisClusters(): Promise<number> {
  const all = [...live];
  await Promise.allSettled(all.map((c) => c.stop()));
  return all.length;
}

export async function startRedisCluster(
  opts: StartRedisClusterOptions = {},
): Promise<RedisCluster> {
  const primaries = opts.primaries ?? 3;
  const replicas = opts.replicasPerPrimary ?? 1;
  if (!Number.isInteger(primaries) || primaries < 3) {
    throw new Error(`startRedisCluster: primaries must be an integer >= 3, got ${primaries}`);
  }
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(
      `startRedisCluster: replicasPerPrimary must be an integer >= 0, got ${replicas}`,
    );
  }
  await reapOrphans();
  const root = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  const c = new ClusterProcesses(root);
  let phase = 'starting the nodes';
  try {
    await c.saveOwner();
    const total = primaries * (1 + replicas);
    for (let i = 0; i < total; i++)
      await c.startNode(opts.appendonly ?? false, opts.nodeTimeoutMs ?? NODE_TIMEOUT_MS);
    phase = 'redis-cli --cluster create';
    await c.create(replicas);
    phase = 'waiting for the cluster to be ready';
    await c.waitReady(primaries, replicas);
    return c;
  } catch (err) {
    const logs = await c.logTails();
    await c.stop().catch(() => {}); // the start's error is the one to report
    throw new Error(`startRedisCluster failed while ${phase}: ${(err as Error).message}${logs}`, {
      cause: err,
    });
  }
}

interface NodeProcess {
  node: RedisClusterNode;
  proc: ChildProcess;
  exited: Promise<void>;
}

interface TopologyEntry {
  id: string;
  port: number;
  flags: string[];
  /** The primary's id for a replica, '-' for a primary. */
  master: string;
}

class ClusterProcesses implements RedisCluster {
  readonly nodes: RedisClusterNode[] = [];
  private readonly procs = new Map<number, NodeProcess>();
  private readonly down = new Set<number>();
  /** CLUSTER NODES as seen right after the start, and right before each killNode. */
  private readonly topologyBefore = new Map<number, TopologyEntry[]>();
  private initialTopology: TopologyEntry[] = [];
  private readonly killedAt = new Map<number, number>();
  private stopping: Promise<void> | undefined;

  constructor(readonly dir: string) {
    live.add(this);
    hookExit();
  }

  get startupNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  get nodesEnv(): string {
    return this.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  }

  /** Starts one node on free ports, retrying on ports someone else took meanwhile. */
  async startNode(appendonly: boolean, nodeTimeoutMs: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const port = await freeClusterPort();
      const np = await this.spawnNode(port, appendonly, nodeTimeoutMs);
      const state = await waitFor(
        async () => {
          if (hasExited(np.proc)) return 'exited' as const;
          // Our process, not another server that took the port after the bind test.
          const info = await command(port, ['INFO', 'server']);
          const pid = typeof info === 'string' ? /process_id:(\d+)/.exec(info)?.[1] : undefined;
          return pid !== undefined && Number(pid) === np.proc.pid && ('ready' as const);
        },
        {
          timeoutMs: PING_TIMEOUT_MS,
          intervalMs: POLL_MS,
          what: `redis-server on ${port} to answer (as our process)`,
        },
      );
      if (state === 'ready') return;
      const log = await tail(join(np.node.dir, 'redis.log'));
      this.procs.delete(port);
      this.nodes.splice(this.nodes.indexOf(np.node), 1);
      if (/address already in use/i.test(log) && attempt < START_ATTEMPTS) continue;
      throw new Error(
        `redis-server on ${port} exited at start (${describeExit(np.proc)}):\n${log}`,
      );
    }
  }

  private async spawnNode(
    port: number,
    appendonly: boolean,
    nodeTimeoutMs: number,
  ): Promise<NodeProcess> {
    const dir = join(this.dir, `node-${port}`);
    await mkdir(dir);
    // The command line (`--daemonize no` keeps the node our child), plus no 5 s wait
    // before a primary's first diskless sync to its replica (repl-diskless-sync-delay's default),
    // which would be most of the start time.
    const args = [
      '--port', String(port),
      '--bind', HOST,
      '--cluster-enabled', 'yes',
      '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(nodeTimeoutMs),
      '--appendonly', appendonly ? 'yes' : 'no',
      '--save', '',
      '--dir', dir,
      '--daemonize', 'no',
      '--logfile', join(dir, 'redis.log'),
      '--repl-diskless-sync-delay', '0',
    ]; // prettier-ignore
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.once('error', () => resolve());
    });
    if (proc.pid === undefined) {
      const err = await new Promise<Error>((resolve) => proc.once('error', resolve));
      throw new Error(`cannot run redis-server: ${err.message}`);
    }
    const np = { node: { host: HOST, port, pid: proc.pid, dir } as const, proc, exited };
    this.procs.set(port, np);
    this.nodes.push(np.node);
    await this.saveOwner();
    return np;
  }

  /** Records our pid and the nodes', so a later start can reap them if we die by a signal. */
  async saveOwner(): Promise<void> {
    const owner = {
      pid: process.pid,
      nodes: this.nodes.map((n) => ({ pid: n.pid, port: n.port })),
    };
    await writeFile(join(this.dir, 'owner.json'), JSON.stringify(owner));
  }

  async create(replicas: number): Promise<void> {
    const args = ['--cluster', 'create', ...this.nodes.map((n) => `${n.host}:${n.port}`)];
    args.push('--cluster-replicas', String(replicas), '--cluster-yes');
    await new Promise<void>((resolve, reject) => {
      execFile('redis-cli', args, { timeout: CREATE_TIMEOUT_MS }, (err, stdout, stderr) => {
        // redis-cli --cluster reports some failures with exit code 0 and a [ERR] line.
        const out = `${stdout}${stderr}`;
        if (err || /\[ERR\]/.test(out)) reject(new Error(`${err?.message ?? 'failed'}\n${out}`));
        else resolve();
      });
    });
  }

  /**
   * Every node: cluster_state ok, all slots ok, every node known, and the same view of who
   * replicates whom as every other node (gossip spreads a CLUSTER REPLICATE only after the
   * replica's link is up); every replica's link up. Then records that view.
   */
  async waitReady(primaries: number, replicas: number): Promise<void> {
    const total = this.nodes.length;
    const state = new Map<number, string>();
    let views: string[] = [];
    await waitFor(
      async () => {
        views = [];
        let ready = true;
        for (const n of this.nodes) {
          const info = parseInfo(String(await command(n.port, ['CLUSTER', 'INFO'])));
          const repl = parseInfo(String(await command(n.port, ['INFO', 'replication'])));
          const view = parseClusterNodes(String(await command(n.port, ['CLUSTER', 'NODES'])));
          views.push(describeTopology(view));
          const masters = view.filter((e) => e.flags.includes('master')).length;
          state.set(
            n.port,
            `state=${info.cluster_state} slots_ok=${info.cluster_slots_ok} ` +
              `known=${info.cluster_known_nodes} primaries=${masters} role=${repl.role} ` +
              `link=${repl.master_link_status ?? '-'}`,
          );
          ready &&=
            info.cluster_state === 'ok' &&
            info.cluster_slots_assigned === String(SLOTS) &&
            info.cluster_slots_ok === String(SLOTS) &&
            info.cluster_known_nodes === String(total) &&
            masters === primaries &&
            (repl.role === 'master' || repl.master_link_status === 'up');
        }
        return ready && views.every((v) => v === views[0]);
      },
      {
        timeoutMs: READY_TIMEOUT_MS,
        intervalMs: 100,
        what: () =>
          `${primaries} primaries + ${primaries * replicas} linked replicas with cluster_state:ok, ` +
          `${SLOTS} slots ok and one view of the topology on every node; last seen: ` +
          [...state].map(([p, s]) => `${p}: ${s}`).join('; ') +
          `; views: ${[...new Set(views)].join(' | ')}`,
      },
    );
    this.initialTopology = await this.topology();
  }

  private liveNodes(): RedisClusterNode[] {
    return this.nodes.filter((n) => !this.down.has(n.port) && !hasExited(this.proc(n.port).proc));
  }

  private proc(port: number): NodeProcess {
    const np = this.procs.get(port);
    if (!np) throw new Error(`no node of this cluster on port ${port} (${this.nodesEnv})`);
    return np;
  }

  private node(port: number): RedisClusterNode {
    return this.proc(port).node;
  }

  nodeCommand(port: number, ...args: Array<string | number>): Promise<unknown> {
    return command(port, args);
  }

  /** Asks the live nodes in turn until one answers. */
  private async ask(args: Array<string | number>): Promise<unknown> {
    let last: unknown = new Error('no live node');
    for (const n of this.liveNodes()) {
      try {
        return await command(n.port, args);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  /** Each live node's own line of CLUSTER NODES: unlike another node's view, never stale. */
  private async topology(): Promise<TopologyEntry[]> {
    const own = await Promise.all(
      this.liveNodes().map(async (n) => {
        const view = parseClusterNodes(String(await command(n.port, ['CLUSTER', 'NODES'])));
        return view.find((e) => e.flags.includes('myself'));
      }),
    );
    return own.filter((e) => e !== undefined);
  }

  async primaryFor(key: string): Promise<RedisClusterNode> {
    const slot = Number(await this.ask(['CLUSTER', 'KEYSLOT', key]));
    // CLUSTER SLOTS: [[start, end, [ip, port, id], …replicas], …]; the primary comes first.
    const ranges = (await this.ask(['CLUSTER', 'SLOTS'])) as Array<
      [number, number, [string, number]]
    >;
    const range = ranges.find(([start, end]) => start <= slot && slot <= end);
    if (!range) throw new Error(`no node serves slot ${slot} of ${JSON.stringify(key)}`);
    return this.node(Number(range[2][1]));
  }

  async killNode(port: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const np = this.proc(port);
    if (hasExited(np.proc)) throw new Error(`node ${port} is not running`);
    this.topologyBefore.set(port, await this.topology());
    this.killedAt.set(port, Date.now());
    np.proc.kill(signal);
    await withDeadline(np.exited, 10_000, `node ${port} to exit after ${signal}`);
    this.down.add(port);
  }

  async waitForFailover(
    oldPrimaryPort: number,
    timeoutMs = 20_000,
  ): Promise<{ primary: RedisClusterNode; elapsedMs: number }> {
    const started = this.killedAt.get(oldPrimaryPort) ?? Date.now();
    const before = this.topologyBefore.get(oldPrimaryPort) ?? this.initialTopology;
    const old = before.find((e) => e.port === oldPrimaryPort);
    if (!old) throw new Error(`node ${oldPrimaryPort} is not in the cluster's topology`);
    const candidates = before.filter((e) => e.master === old.id).map((e) => e.port);
    if (candidates.length === 0) {
      throw new Error(`node ${oldPrimaryPort} had no replicas (is it a primary?)`);
    }
    let seen = '';
    const primary = await waitFor(
      async () => {
        const states: string[] = [];
        let promoted: RedisClusterNode | undefined;
        let allOk = true;
        for (const n of this.liveNodes()) {
          const info = parseInfo(String(await command(n.port, ['CLUSTER', 'INFO'])));
          const role = parseInfo(String(await command(n.port, ['INFO', 'replication']))).role;
          states.push(`${n.port}: ${info.cluster_state} slots_ok=${info.cluster_slots_ok} ${role}`);
          if (info.cluster_state !== 'ok' || info.cluster_slots_ok !== String(SLOTS)) allOk = false;
          if (candidates.includes(n.port) && role === 'master') promoted = n;
        }
        seen = states.join('; ');
        return allOk && promoted;
      },
      {
        timeoutMs,
        intervalMs: 100,
        what: () =>
          `a replica of ${oldPrimaryPort} (${candidates.join(', ')}) to be promoted with ` +
          `cluster_state:ok on every live node; last seen: ${seen}`,
      },
    );
    return { primary, elapsedMs: Date.now() - started };
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(async ({ node, proc, exited }) => {
        if (!hasExited(proc)) {
          proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_KILL_AFTER_MS);
          await exited;
          clearTimeout(timer);
        }
        taken.delete(node.port);
      }),
    );
    try {
      await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
    } finally {
      live.delete(this);
    }
  }

  /** The end of every node's log, for an error message. */
  async logTails(): Promise<string> {
    const parts = await Promise.all(
      this.nodes.map(
        async (n) => `\n--- ${n.port} redis.log ---\n${await tail(join(n.dir, 'redis.log'))}`,
      ),
    );
    return parts.join('');
  }

  /** Last resort on process 'exit' (synchronous only). */
  killNow(): void {
    for (const { proc } of this.procs.values()) if (!hasExited(proc)) proc.kill('SIGKILL');
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      /* the next start reaps what is left (owner.json) */
    }
  }
}

let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const c of live) c.killNow();
  });
}

/** A port whose cluster bus port (+10000) is free too, both bind-tested on 127.0.0.1. */
async function freeClusterPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = PORT_MIN + Math.floor(Math.random() * PORT_SPAN);
    if (taken.has(port)) continue;
    if ((await canBind(port)) && (await canBind(port + BUS_OFFSET))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free port pair (p, p+${BUS_OFFSET}) found on ${HOST}`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: HOST, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** One command on a short-lived connection that never retries (a dead node fails fast). */
async function command(port: number, args: Array<string | number>): Promise<unknown> {
  const r = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
    commandTimeout: 2000,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    const [name, ...rest] = args;
    return await r.call(String(name), ...rest);
  } finally {
    r.disconnect();
  }
}

function parseInfo(text: string): Record<string, string | undefined> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** CLUSTER NODES: `<id> <ip:port@bus[,host]> <flags> <master> <ping> <pong> <epoch> <link> <slots…>`. */
function parseClusterNodes(text: string): TopologyEntry[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const [id = '', addr = '', flags = '', master = '-'] = line.split(' ');
      const hostPort = addr.split('@')[0] ?? '';
      return {
        id,
        port: Number(hostPort.slice(hostPort.lastIndexOf(':') + 1)),
        flags: flags.split(','),
        master,
      };
    });
}

/** `id role primary-id` per node, sorted: equal strings mean equal views of the topology. */
function describeTopology(view: TopologyEntry[]): string {
  return view
    .map(
      (e) =>
        `${e.id.slice(0, 8)} ${e.flags.includes('master') ? 'primary' : 'replica'} ${e.master.slice(0, 8)}`,
    )
    .sort()
    .join(', ');
}

function hasExited(proc: ChildProcess): boolean {
  return proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined;
}

function describeExit(proc: ChildProcess): string {
  return proc.signalCode ? `signal ${proc.signalCode}` : `exit code ${proc.exitCode}`;
}

async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

async function withDeadline(p: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Nodes of clusters whose process died by a signal (no 'exit' hook, no afterAll): SIGKILL each
 * pid that is still that node's redis-server (its title names its port), then remove the dir.
 */
async function reapOrphans(): Promise<void> {
  const dirs = (await readdir(tmpdir())).filter((d) => d.startsWith(DIR_PREFIX));
  for (const d of dirs) {
    const root = join(tmpdir(), d);
    let owner: { pid: number; nodes: Array<{ pid: number; port: number }> };
    try {
      owner = JSON.parse(await readFile(join(root, 'owner.json'), 'utf8')) as typeof owner;
    } catch {
      continue; // not ours, or being written right now
    }
    if (await isAlive(owner.pid)) continue;
    for (const { pid, port } of owner.nodes) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes('redis-server') && cmdline.includes(`:${port}`)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone meanwhile */
        }
      }
    }
    await rm(root, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Whether `pid` runs (a zombie does not: its nodes are orphans already). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // `pid (comm) state …`: the state follows the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/**
 * `count` shard names whose hash tags (`{name}`, see @holdfast/shared keys.ts: every key of a
 * shard carries it) are served by `count` different primaries, so that each shard's work lands
 * on a node of its own. Tries `a`, `b`, `c`, … first (on a fresh 3-primary cluster they are
 * already on three different primaries), then `s0`, `s1`, ….
 */
export async function shardsOnDistinctPrimaries(
  cluster: RedisCluster,
  count: number,
): Promise<Array<{ shard: string; primary: RedisClusterNode }>> {
  const out: Array<{ shard: string; primary: RedisClusterNode }> = [];
  const used = new Set<number>();
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
  const candidates = [...letters, ...Array.from({ length: 1000 }, (_, i) => `s${i}`)];
  for (const shard of candidates) {
    if (out.length === count) break;
    const primary = await cluster.primaryFor(`{${shard}}`);
    if (used.has(primary.port)) continue;
    used.add(primary.port);
    out.push({ shard, primary });
  }
  if (out.length < count)
    throw new Error(`the cluster has ${out.length} primaries, fewer than ${count} shards`);
  return out;
}
