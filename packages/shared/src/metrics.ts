/**
 * A metrics registry per service (never prom-client's global one) and the small HTTP server
 * that serves /metrics and /healthz on the service's own port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';

export type Registry = client.Registry;
export { client as prom };

export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry, prefix: 'holdfast_' });
  return registry;
}

/** Metrics every stream consumer exports. */
export function workerMetrics(registry: client.Registry) {
  return {
    processed: new client.Counter({
      name: 'holdfast_events_processed_total',
      help: 'Events processed, by type and final status.',
      labelNames: ['type', 'status'],
      registers: [registry],
    }),
    deadLetters: new client.Counter({
      name: 'holdfast_dead_letters_total',
      help: 'Entries dead-lettered to checkout:dead, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    lag: new client.Gauge({
      name: 'holdfast_stream_lag_entries',
      help: 'Entries in the stream not yet delivered to the group.',
      labelNames: ['stream', 'group'],
      registers: [registry],
    }),
    pending: new client.Gauge({
      name: 'holdfast_stream_pending_entries',
      help: 'Entries delivered to the group and not yet acknowledged.',
      labelNames: ['stream', 'group'],
      registers: [registry],
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof workerMetrics>;

export interface HealthSource {
  /** Returns null when healthy, else a short reason. */
  (): Promise<string | null> | string | null;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves /metrics and /healthz. port 0 picks a free port (extra replicas on one host). */
export async function startMetricsServer(
  registry: client.Registry,
  port: number,
  health: HealthSource,
  host = '0.0.0.0',
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        })
        .catch((err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        });
      return;
    }
    if (url === '/healthz') {
      Promise.resolve()
        .then(() => health())
        .then((problem) => {
          res.writeHead(problem ? 503 : 200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(problem ? { ok: false, problem } : { ok: true }));
        })
        .catch((err: Error) => {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, problem: err.message }));
        });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
