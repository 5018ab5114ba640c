/**
 * A delaying TCP proxy on loopback: the network round trip of production, added to a local
 * server. Every chunk a client sends is held `delayMs` before it is written to the server;
 * replies pass straight back. So each request/reply round trip takes at least `delayMs` more —
 * the whole RTT on the request leg rather than half each way: the client sees the same added
 * round trip, and one timer per connection is enough.
 *
 * Per connection the chunks stay in arrival order (constant delay → due times never decrease,
 * so a FIFO suffices) and each is written on its own (never concatenated with its neighbours),
 * so the server sees the byte stream and the packet boundaries the client produced, only later.
 * Waiting is a timer, never a busy loop: a benchmark on a shared 2-core box cannot spend a core
 * spinning. Node's timers have 1 ms resolution, so a chunk leaves at the first timer tick at or
 * after its due time (checked with performance.now(), never early): the hold is r to r + ~1 ms,
 * and the proxy measures it (`stats().holdMs`) so the report says what was really added.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface RttProxyOptions {
  targetHost: string;
  targetPort: number;
  /** Added round trip, ms (fractions allowed; 0 = forward at once). */
  delayMs: number;
  /** Listen port (0 = any free one). */
  port?: number;
}

export interface HoldStats {
  connections: number;
  chunks: number;
  bytes: number;
  /** How long the chunks were really held, ms (0.05 ms buckets, so ±0.05 ms). */
  holdMs: { p50: number | null; p99: number | null; max: number | null };
}

export interface RttProxy {
  port: number;
  stats(): HoldStats;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Hold-time histogram: 0.05 ms buckets up to 100 ms (beyond counts as 100). */
class HoldHistogram {
  private static readonly BUCKET_MS = 0.05;
  private readonly counts = new Float64Array(2001);
  count = 0;
  max = 0;

  add(ms: number): void {
    const i = Math.min(this.counts.length - 1, Math.floor(ms / HoldHistogram.BUCKET_MS));
    this.counts[i]! += 1;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  quantile(q: number): number | null {
    if (!this.count) return null;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.round((i + 1) * HoldHistogram.BUCKET_MS * 100) / 100;
    }
    return this.max;
  }
}

interface Held {
  chunk: Buffer;
  arrived: number;
  due: number;
}

/** One client connection: client → (held) → server, server → client at once. */
class DelayedConnection {
  private readonly queue: Held[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private clientEnded = false;
  private closed = false;

  constructor(
    private readonly client: Socket,
    private readonly server: Socket,
    private readonly delayMs: number,
    private readonly hist: HoldHistogram,
    private readonly totals: { chunks: number; bytes: number },
    private readonly onClose: () => void,
  ) {
    client.setNoDelay(true);
    server.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.arrive(chunk));
    client.on('end', () => {
      this.clientEnded = true;
      this.flush();
    });
    // Replies are not delayed; pipe() keeps their chunks and handles backpressure.
    server.pipe(client);
    for (const s of [client, server]) {
      s.on('error', () => this.close());
      s.on('close', () => this.close());
    }
  }

  private arrive(chunk: Buffer): void {
    const now = performance.now();
    this.queue.push({ chunk, arrived: now, due: now + this.delayMs });
    if (this.delayMs <= 0) this.flush();
    else if (!this.timer) this.schedule(now);
  }

  private schedule(now: number): void {
    const next = this.queue[this.head];
    if (!next || this.closed) return;
    // ceil: a timer never fires before its ms; the due-time check below catches early ticks.
    this.timer = setTimeout(() => this.flush(), Math.max(1, Math.ceil(next.due - now)));
  }

  private flush(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = performance.now();
    while (this.head < this.queue.length) {
      const h = this.queue[this.head]!;
      if (h.due > now) break;
      this.head++;
      this.hist.add(now - h.arrived);
      this.totals.chunks++;
      this.totals.bytes += h.chunk.length;
      if (!this.server.write(h.chunk) && !this.client.isPaused()) {
        // The server reads slower than the client sends: stop reading the client meanwhile.
        this.client.pause();
        this.server.once('drain', () => this.client.resume());
      }
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      if (this.clientEnded) this.server.end();
    } else {
      // A connection that never goes idle would otherwise keep every chunk it ever sent.
      if (this.head > 1024) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.schedule(now);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.client.destroy();
    this.server.destroy();
    this.onClose();
  }
}

/** Starts a proxy on 127.0.0.1 in front of targetHost:targetPort. */
export async function startRttProxy(o: RttProxyOptions): Promise<RttProxy> {
  const hist = new HoldHistogram();
  const totals = { connections: 0, chunks: 0, bytes: 0 };
  const open = new Set<DelayedConnection>();
  const server: Server = createServer((client) => {
    totals.connections++;
    const upstream = connect({ host: o.targetHost, port: o.targetPort });
    const c = new DelayedConnection(client, upstream, o.delayMs, hist, totals, () =>
      open.delete(c),
    );
    open.add(c);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('rtt proxy: no TCP address');
  return {
    port: address.port,
    stats: () => ({
      connections: totals.connections,
      chunks: totals.chunks,
      bytes: totals.bytes,
      holdMs: {
        p50: hist.quantile(0.5),
        p99: hist.quantile(0.99),
        max: hist.count ? Math.round(hist.max * 100) / 100 : null,
      },
    }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of [...open]) c.close();
        server.close(() => resolve());
      }),
  };
}
