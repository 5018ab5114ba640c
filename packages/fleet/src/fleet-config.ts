/**
 * The fleet's configuration: startFleet's options checked and resolved once (fleetSettings),
 * a `--only` list (parseServices), and the environment of each child (childEnv).
 */
import { hostname } from 'node:os';
import { REPO_ROOT, SERVICES, serviceNodeArgs, type ServiceName } from '@holdfast/shared';
import type { BackoffOptions, FleetOptions } from './fleet-types.js';

export const DEFAULT_METRICS_PORTS: Record<ServiceName, number> = {
  ingest: 9101,
  reserver: 9102,
  'ledger-writer': 9103,
  reconciler: 9104,
};

export class FleetConfigError extends Error {
  override name = 'FleetConfigError';
}

export function parseServices(list: string): ServiceName[] {
  const out: ServiceName[] = [];
  for (const raw of list.split(',')) {
    const s = raw.trim();
    if (!s) continue;
    if (!(SERVICES as readonly string[]).includes(s)) {
      throw new FleetConfigError(
        `unknown service ${JSON.stringify(s)} (services: ${SERVICES.join(', ')})`,
      );
    }
    if (!out.includes(s as ServiceName)) out.push(s as ServiceName);
  }
  if (!out.length) throw new FleetConfigError('no service selected');
  return out;
}

/** The environment of one child. */
export function childEnv(
  base: Record<string, string | undefined>,
  service: ServiceName,
  replica: number,
  fleetId: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  if (replica > 0) env.METRICS_PORT = '0';
  // Stable per replica slot for the life of this fleet: a restarted child recovers its own
  // pending entries immediately. Two replicas must never share a name.
  const configured = env.CONSUMER_NAME;
  const name = configured ? `${configured}-${replica}` : `${service}-${fleetId}-${replica}`;
  env.CONSUMER_NAME = name.replace(/[^\x21-\x7e]/g, '_').slice(-64);
  return env;
}

/** startFleet's options, checked, with every default filled in. */
export interface FleetSettings {
  replicas: number;
  services: ServiceName[];
  /** process.env with the options' env over it; childEnv derives each child's from it. */
  base: Record<string, string | undefined>;
  root: string;
  node: string;
  /** Node's arguments for each service: its compiled entry. */
  nodeArgs: Map<ServiceName, string[]>;
  backoff: Required<BackoffOptions>;
  stopTimeoutMs: number;
  /** This host and process: part of the children's default consumer names. */
  fleetId: string;
}

/** Checks the options (FleetConfigError, or BuildMissingError) before anything is started. */
export function fleetSettings(opts: FleetOptions): FleetSettings {
  const replicas = opts.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 64) {
    throw new FleetConfigError(`replicas must be an integer 1–64, got ${replicas}`);
  }
  const services = opts.only?.length ? [...opts.only] : [...SERVICES];
  const base: Record<string, string | undefined> = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete base[k];
  const port = base.METRICS_PORT;
  if (port !== undefined && port.trim() !== '0' && services.length > 1) {
    throw new FleetConfigError(
      `METRICS_PORT=${port} would be shared by ${services.length} services: unset it (each service ` +
        'keeps its default port) or set it to 0 (free ports)',
    );
  }
  const root = opts.root ?? REPO_ROOT;
  return {
    replicas,
    services,
    base,
    root,
    node: opts.nodePath ?? process.execPath,
    // Compiled entries (`pnpm build`); a missing or stale build fails here, before any spawn.
    nodeArgs: new Map(services.map((s) => [s, serviceNodeArgs(s, root)])),
    backoff: {
      initialMs: opts.backoff?.initialMs ?? 1_000,
      maxMs: opts.backoff?.maxMs ?? 30_000,
      resetAfterMs: opts.backoff?.resetAfterMs ?? 60_000,
    },
    stopTimeoutMs: opts.stopTimeoutMs ?? 20_000,
    fleetId: `${hostname().split('.')[0]}-${process.pid}`,
  };
}
