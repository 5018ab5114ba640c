/**
 * The delaying proxies as a process of their own (./rtt-network.ts starts it): their CPU is
 * then not the benchmark client's, and their timers are not late behind the client's work.
 *
 *   node --import tsx rtt-proxy-process.ts '{"delayMs":1,"targets":[{"host":…,"port":…}]}'
 *
 * Prints one JSON line with the listen ports once they listen; on SIGTERM, SIGINT or the end of
 * stdin (the parent went away) it prints one line of hold statistics, closes and exits.
 */
import { startRttProxy, type RttProxy } from './rtt-proxy.js';

interface Spec {
  delayMs: number;
  targets: Array<{ host: string; port: number }>;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const proxies: RttProxy[] = await Promise.all(
  spec.targets.map((t) =>
    startRttProxy({ targetHost: t.host, targetPort: t.port, delayMs: spec.delayMs }),
  ),
);
process.stdout.write(JSON.stringify({ ports: proxies.map((p) => p.port) }) + '\n');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write(JSON.stringify({ stats: proxies.map((p) => p.stats()) }) + '\n');
  await Promise.all(proxies.map((p) => p.close()));
  process.exit(0);
}
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
